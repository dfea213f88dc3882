/**
 * Tool-call ids a provider cannot take, rewritten before a call: each
 * provider has its own rule (OpenAI: at most 40 characters; Anthropic:
 * letters, digits, `_` and `-` only), and a conversation may carry ids that
 * another provider wrote before a failover, or that the client made up.
 */
import type { ChatRequest } from "@modelgate/domain/Chat"
import { createHash } from "node:crypto"

type Messages = ChatRequest["messages"]

/** A stable stand-in for `id`: `prefix` and a hash of it, `length` characters in all (letters, digits, `_`, `-`). */
export const stableToolId = (prefix: string, id: string, length: number): string =>
  `${prefix}${createHash("sha256").update(id).digest("base64url").slice(0, length - prefix.length)}`

/**
 * A tool-call id as an error message quotes it: as it is up to 64
 * characters, else its first 48 and its length (Gemini's ids carry a thought
 * signature of a few KB, Google/ThoughtSignatures.ts).
 */
export const shownToolId = (id: string): string => (id.length <= 64 ? id : `${id.slice(0, 48)}... (${id.length} characters)`)

const anyTaken = (messages: Messages, taken: (id: string) => boolean): boolean =>
  messages.some((m) =>
    m.role === "tool"
      ? !taken(m.tool_call_id)
      : m.role === "assistant" && m.tool_calls !== undefined && m.tool_calls.some((c) => !taken(c.id)))

/**
 * The history with every tool-call id the provider does not take (`taken`
 * false) replaced by `rewrite(id)`, in the assistant's calls and in the tool
 * messages alike, so each result still answers its call; the same array
 * when every id is taken.
 */
export const withToolIds = (messages: Messages, taken: (id: string) => boolean, rewrite: (id: string) => string): Messages => {
  if (!anyTaken(messages, taken)) return messages
  const fix = (id: string) => (taken(id) ? id : rewrite(id))
  return messages.map((m) =>
    m.role === "tool"
      ? { ...m, tool_call_id: fix(m.tool_call_id) }
      : m.role === "assistant" && m.tool_calls !== undefined
      ? { ...m, tool_calls: m.tool_calls.map((c) => ({ ...c, id: fix(c.id) })) }
      : m
  ) as unknown as Messages
}

const anyReused = (messages: Messages): boolean => {
  let seen: Set<string> | undefined
  for (const m of messages) {
    if (m.role !== "assistant" || m.tool_calls === undefined) continue
    for (const call of m.tool_calls) {
      seen ??= new Set()
      if (seen.has(call.id)) return true
      seen.add(call.id)
    }
  }
  return false
}

/**
 * The history with each tool call whose id an earlier call already has
 * replaced by `rewrite(id, use)` (`use`: 2 for the second call with that id,
 * and so on), and the tool messages answering it (those after its assistant
 * message, in order, as OpenAI pairs them) alike; the same array when no id
 * is reused. OpenAI takes a reused id (an upstream that numbers each
 * answer's calls from `call_0`, or a client's own ids); Anthropic refuses
 * it ("tool_use ids must be unique"). The first call keeps its id, so a
 * growing conversation's earlier turns go unchanged.
 */
export const withUniqueToolIds = (messages: Messages, rewrite: (id: string, use: number) => string): Messages => {
  if (!anyReused(messages)) return messages
  const uses = new Map<string, number>()
  // The ids the last assistant message's calls go under, by the id they came with, in order.
  let answers = new Map<string, Array<string>>()
  return messages.map((m) => {
    if (m.role === "assistant" && m.tool_calls !== undefined && m.tool_calls.length > 0) {
      answers = new Map()
      const tool_calls = m.tool_calls.map((call) => {
        const use = (uses.get(call.id) ?? 0) + 1
        uses.set(call.id, use)
        const id = use === 1 ? call.id : rewrite(call.id, use)
        const ids = answers.get(call.id)
        if (ids === undefined) answers.set(call.id, [id])
        else ids.push(id)
        return id === call.id ? call : { ...call, id }
      })
      return { ...m, tool_calls }
    }
    if (m.role !== "tool") return m
    const ids = answers.get(m.tool_call_id)
    if (ids === undefined) return m
    const id = ids.length > 1 ? ids.shift()! : ids[0]!
    return id === m.tool_call_id ? m : { ...m, tool_call_id: id }
  }) as unknown as Messages
}
