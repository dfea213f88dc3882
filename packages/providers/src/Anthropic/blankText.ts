/**
 * Blank text out of an Anthropic request: Anthropic refuses a text block
 * that is empty or whitespace only ("text content blocks must contain
 * non-whitespace text", a 400), which OpenAI takes (models answer "\n\n"
 * beside tool calls, and agents replay it). Whitespace alone says nothing,
 * so it is left out, but a cache breakpoint it carried is kept.
 */
import type { CacheControl } from "@modelgate/domain/Chat"
import type { AnthropicBlock, AnthropicMessage, AnthropicText } from "./Request.js"

/** Whether a block is text with nothing but whitespace. */
const isBlank = (block: AnthropicBlock): boolean => block.type === "text" && block.text.trim() === ""

/** Of two breakpoints on one block, the longer-lived (`1h` over the default 5 minutes). */
const longer = (mine: CacheControl | undefined, moved: CacheControl): CacheControl =>
  mine === undefined || (moved.ttl === "1h" && mine.ttl !== "1h") ? moved : mine

/**
 * The system prompt and messages without blank text blocks; a message left
 * empty goes, and the turns around it merge (Anthropic wants them to
 * alternate).
 *
 * The breakpoint (`cache_control`) of a blank block moves back onto the
 * block sent just before it: in its message, else the last of the message
 * before, else the last block of the system prompt. A breakpoint caches the
 * prefix up to its block, and the blank block adds nothing to that prefix,
 * so the block before it ends the very prefix the client marked. Moving it
 * forward instead would cache (and bill the cache write for) content the
 * client did not mark, and miss whenever that content changes. With no block
 * before it in the system prompt or the messages, it is returned as
 * `leading` (the longer-lived of such ones): Anthropic's prefix runs tools,
 * then system, then messages, so it belongs on the last tool definition
 * (`onLastTool`). A block that has a breakpoint of its own keeps the
 * longer-lived of the two.
 */
export const withoutBlankText = (
  system: ReadonlyArray<AnthropicText>,
  messages: ReadonlyArray<AnthropicMessage>
): {
  readonly system: ReadonlyArray<AnthropicText>
  readonly messages: ReadonlyArray<AnthropicMessage>
  readonly leading: CacheControl | undefined
} => {
  const keptSystem: Array<AnthropicText> = []
  const kept: Array<{ readonly role: AnthropicMessage["role"]; readonly content: Array<AnthropicBlock> }> = []
  // Puts a breakpoint on the last block kept so far, across the system prompt and the messages in order.
  let markLast: ((cache: CacheControl) => void) | undefined
  const keep = <B extends AnthropicBlock>(list: Array<B>, block: B): void => {
    const at = list.push(block) - 1
    markLast = (cache) => {
      const last = list[at]!
      list[at] = { ...last, cache_control: longer(last.cache_control, cache) }
    }
  }
  let leading: CacheControl | undefined
  const drop = (block: AnthropicBlock): void => {
    if (block.cache_control === undefined) return
    if (markLast !== undefined) markLast(block.cache_control)
    else leading = longer(leading, block.cache_control)
  }
  for (const block of system) {
    if (isBlank(block)) drop(block)
    else keep(keptSystem, block)
  }
  for (const message of messages) {
    for (const block of message.content) {
      if (isBlank(block)) {
        drop(block)
        continue
      }
      const turn = kept[kept.length - 1]
      if (turn?.role === message.role) keep(turn.content, block)
      else {
        const content: Array<AnthropicBlock> = []
        kept.push({ role: message.role, content })
        keep(content, block)
      }
    }
  }
  return { system: keptSystem, messages: kept, leading }
}

/**
 * Tool definitions with the `leading` breakpoint of `withoutBlankText` on
 * the last (which keeps the longer-lived if it has its own); as they are
 * without one, or without tools (the marked prefix is then empty: left out).
 */
export const onLastTool = <T extends { readonly cache_control?: CacheControl }>(
  tools: ReadonlyArray<T> | undefined,
  leading: CacheControl | undefined
): ReadonlyArray<T> | undefined => {
  if (leading === undefined || tools === undefined || tools.length === 0) return tools
  const last = tools[tools.length - 1]!
  return [...tools.slice(0, -1), { ...last, cache_control: longer(last.cache_control, leading) }]
}
