/**
 * Anthropic refuses a text block that is empty or whitespace only, in the
 * messages and in the system prompt alike ("text content blocks must
 * contain non-whitespace text", a 400), where OpenAI takes such content:
 * models often answer "\n\n" beside their tool calls, and an agent replays
 * that turn as it came. Whitespace alone says nothing, so it is left out.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ChatRequest, ToolCall } from "@modelgate/domain/Chat"
import { validateMessages } from "@modelgate/testkit/FakeAnthropic/validate"
import { modelOf } from "@modelgate/testkit/TestModel"
import { Either } from "effect"
import { toAnthropicRequest } from "../src/Anthropic/Request.js"

const call = (id: string, name: string, args: string): ToolCall => ({ id, type: "function", function: { name, arguments: args } })
const tools = [{ type: "function" as const, function: { name: "get_time" } }]

const bodyOf = (messages: ChatRequest["messages"], requestTools: ChatRequest["tools"] = tools) =>
  Either.getOrThrow(toAnthropicRequest({ model: "claude-test", messages, tools: requestTools }, modelOf("anthropic", "claude-x"), {
    stream: false,
    context: { provider: "anthropic", model: "claude-test" }
  }))

describe("Anthropic blank text", () => {
  it("an assistant turn of \"\\n\\n\" beside its tool calls goes as the calls alone", () => {
    const body = bodyOf([
      { role: "user", content: "time?" },
      { role: "assistant", content: "\n\n", tool_calls: [call("call_1", "get_time", "")] },
      { role: "tool", tool_call_id: "call_1", content: "12:00" },
      { role: "user", content: "thanks" }
    ])
    assert.isUndefined(validateMessages(body))
    assert.deepStrictEqual(body.messages[1], { role: "assistant", content: [{ type: "tool_use", id: "call_1", name: "get_time", input: {} }] })
  })

  it("whitespace-only system, user and assistant text (string or parts) is left out; a turn left empty merges away", () => {
    const body = bodyOf([
      { role: "system", content: "  \n" },
      { role: "developer", content: [{ type: "text", text: " " }] },
      { role: "user", content: "hi" },
      { role: "assistant", content: [{ type: "text", text: " " }, { type: "text", text: "\t" }] },
      { role: "user", content: [{ type: "text", text: "\n" }, { type: "text", text: "again" }] },
      { role: "assistant", content: "ok" },
      { role: "user", content: " " },
      { role: "user", content: "last" }
    ])
    assert.isUndefined(validateMessages(body))
    assert.isUndefined(body.system)
    assert.deepStrictEqual(body.messages, [
      { role: "user", content: [{ type: "text", text: "hi" }, { type: "text", text: "again" }] },
      { role: "assistant", content: [{ type: "text", text: "ok" }] },
      { role: "user", content: [{ type: "text", text: "last" }] }
    ])
  })

  it("text with words keeps its whitespace as written", () => {
    const body = bodyOf([{ role: "user", content: "  two  spaces \n" }])
    assert.deepStrictEqual(body.messages[0]?.content, [{ type: "text", text: "  two  spaces \n" }])
  })
})

/**
 * A blank text part can carry a cache breakpoint (an agent marks the last
 * part of a stable prefix, and that part is a "\n" separator): dropping the
 * block must not drop the breakpoint, or the prefix the client asked cached
 * is never cached and every call pays for it in full. A breakpoint caches
 * everything before it, so it moves back onto the block sent just before the
 * blank one: the same cached prefix, as the blank block adds nothing. The
 * prefix runs tools, then system, then messages, so with nothing before it in
 * the messages that block is the last system block, else the last tool.
 */
describe("Anthropic blank text with a cache breakpoint", () => {
  const cache = { type: "ephemeral" as const }
  const hour = { type: "ephemeral" as const, ttl: "1h" as const }

  it("moves onto the block before it in the same message (user content and system prompt)", () => {
    const body = bodyOf([
      { role: "system", content: [{ type: "text", text: "rules" }, { type: "text", text: "\n", cache_control: cache }] },
      { role: "user", content: [{ type: "text", text: "long document" }, { type: "text", text: "\n\n", cache_control: hour }, { type: "text", text: "question" }] }
    ])
    assert.isUndefined(validateMessages(body))
    assert.deepStrictEqual(body.system, [{ type: "text", text: "rules", cache_control: cache }])
    assert.deepStrictEqual(body.messages[0]?.content, [
      { type: "text", text: "long document", cache_control: hour },
      { type: "text", text: "question" }
    ])
  })

  it("first in its message, it moves onto the last block of the message before (a tool result), not onto the text after it", () => {
    const body = bodyOf([
      { role: "user", content: "time?" },
      { role: "assistant", content: null, tool_calls: [call("call_1", "get_time", "{}")] },
      { role: "tool", tool_call_id: "call_1", content: "12:00" },
      { role: "assistant", content: [{ type: "text", text: " ", cache_control: cache }, { type: "text", text: "It is noon." }] },
      { role: "user", content: "thanks" }
    ])
    assert.isUndefined(validateMessages(body))
    assert.deepStrictEqual(body.messages[1]?.content, [{ type: "tool_use", id: "call_1", name: "get_time", input: {} }])
    assert.deepStrictEqual(body.messages[2]?.content, [{ type: "tool_result", tool_use_id: "call_1", content: "12:00", cache_control: cache }])
    assert.deepStrictEqual(body.messages[3]?.content, [{ type: "text", text: "It is noon." }])
  })

  it("first of the first message, it moves onto the system prompt, which then goes as blocks", () => {
    const body = bodyOf([
      { role: "system", content: "rules" },
      { role: "user", content: [{ type: "text", text: "\t", cache_control: cache }, { type: "text", text: "question" }] }
    ])
    assert.isUndefined(validateMessages(body))
    assert.deepStrictEqual(body.system, [{ type: "text", text: "rules", cache_control: cache }])
    assert.deepStrictEqual(body.messages[0]?.content, [{ type: "text", text: "question" }])
    assert.deepStrictEqual(body.tools, [{ name: "get_time", input_schema: { type: "object", properties: {} } }])
  })

  it("a message of blank text alone goes, its breakpoint on the block before it and the turns around it merged", () => {
    const body = bodyOf([
      { role: "user", content: "first" },
      { role: "assistant", content: [{ type: "text", text: "\n", cache_control: cache }] },
      { role: "user", content: "second" }
    ])
    assert.isUndefined(validateMessages(body))
    assert.deepStrictEqual(body.messages, [
      { role: "user", content: [{ type: "text", text: "first", cache_control: cache }, { type: "text", text: "second" }] }
    ])
  })

  it("on a block that has its own breakpoint, the longer-lived of the two stays", () => {
    const body = bodyOf([
      { role: "user", content: [{ type: "text", text: "doc", cache_control: cache }, { type: "text", text: " ", cache_control: hour }, { type: "text", text: "q" }] }
    ])
    assert.deepStrictEqual(body.messages[0]?.content, [{ type: "text", text: "doc", cache_control: hour }, { type: "text", text: "q" }])
  })

  /** The cache breakpoints of a body: on tools, system blocks and message blocks. */
  const breakpointsOf = (body: ReturnType<typeof bodyOf>) =>
    [...(body.tools ?? []), ...(Array.isArray(body.system) ? body.system : []), ...body.messages.flatMap((m) => m.content)]
      .flatMap((block) => (block.cache_control === undefined ? [] : [block.cache_control]))

  const answeredCallTurns: ChatRequest["messages"] = [
    { role: "assistant", content: null, tool_calls: [call("call_1", "get_time", "{}")] },
    { role: "tool", tool_call_id: "call_1", content: "12:00" }
  ]
  const twoTools = [...tools, { type: "function" as const, function: { name: "get_date", description: "today's date" } }]

  // Anthropic's cached prefix runs tools, then system, then messages: with no system prompt, the last tool ends it.
  it("with nothing before it in the messages and no system prompt, it moves onto the last tool definition", () => {
    const body = bodyOf([{ role: "user", content: [{ type: "text", text: " ", cache_control: hour }, { type: "text", text: "question" }] }], twoTools)
    assert.isUndefined(validateMessages(body))
    assert.isUndefined(body.system)
    assert.deepStrictEqual(body.tools, [
      { name: "get_time", input_schema: { type: "object", properties: {} } },
      { name: "get_date", description: "today's date", input_schema: { type: "object", properties: {} }, cache_control: hour }
    ])
    assert.deepStrictEqual(body.messages[0]?.content, [{ type: "text", text: "question" }])
  })

  it("a blank system block with no system text before it moves onto the last tool definition too", () => {
    const body = bodyOf([
      { role: "system", content: [{ type: "text", text: "\n", cache_control: cache }] },
      { role: "user", content: "question" }
    ])
    assert.isUndefined(validateMessages(body))
    assert.isUndefined(body.system)
    assert.deepStrictEqual(body.tools, [{ name: "get_time", input_schema: { type: "object", properties: {} }, cache_control: cache }])
  })

  it("on a last tool with a breakpoint of its own, the longer-lived of the two stays and no breakpoint is added", () => {
    const cachedTools = [{ type: "function" as const, function: { name: "get_time" }, cache_control: cache }]
    const body = bodyOf([
      { role: "user", content: [{ type: "text", text: " ", cache_control: hour }, { type: "text", text: "doc", cache_control: cache }, { type: "text", text: "q" }] }
    ], cachedTools)
    assert.deepStrictEqual(body.tools, [{ name: "get_time", input_schema: { type: "object", properties: {} }, cache_control: hour }])
    assert.deepStrictEqual(breakpointsOf(body), [hour, cache])
    const shorter = bodyOf([{ role: "user", content: [{ type: "text", text: " ", cache_control: cache }, { type: "text", text: "q" }] }], [
      { type: "function", function: { name: "get_time" }, cache_control: hour }
    ])
    assert.deepStrictEqual(breakpointsOf(shorter), [hour])
  })

  it("a tool history sent without tools: onto the last of the tools declared for it", () => {
    const body = bodyOf([
      { role: "user", content: [{ type: "text", text: " ", cache_control: cache }, { type: "text", text: "time?" }] },
      ...answeredCallTurns
    ], [])
    assert.isUndefined(validateMessages(body))
    assert.deepStrictEqual(body.tools, [{ name: "get_time", input_schema: { type: "object" }, cache_control: cache }])
    assert.deepStrictEqual(body.tool_choice, { type: "none" })
  })

  it("with no tools and no system prompt, it is left out rather than moved onto later text (which would cache more than asked)", () => {
    const body = bodyOf([{ role: "user", content: [{ type: "text", text: " ", cache_control: cache }, { type: "text", text: "question" }] }], [])
    assert.isUndefined(validateMessages(body))
    assert.isUndefined(body.system)
    assert.isUndefined(body.tools)
    assert.deepStrictEqual(body.messages[0]?.content, [{ type: "text", text: "question" }])
  })
})
