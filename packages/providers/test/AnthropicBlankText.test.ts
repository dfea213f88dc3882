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

const bodyOf = (messages: ChatRequest["messages"]) =>
  Either.getOrThrow(toAnthropicRequest({ model: "claude-test", messages, tools }, modelOf("anthropic", "claude-x"), {
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
