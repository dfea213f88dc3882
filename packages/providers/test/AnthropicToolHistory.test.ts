/**
 * Agent conversations with tool use, translated for Anthropic: every body
 * must pass the fake's validation, which checks what the Messages API
 * checks. Anthropic answers a history holding `tool_use` / `tool_result`
 * blocks with a 400 ("Requests which include `tool_use` or `tool_result`
 * blocks must define tools.") when the request declares no tools, where
 * OpenAI takes it (an agent's closing call, asking for a summary without
 * tools, sends exactly that).
 */
import { assert, describe, it } from "@effect/vitest"
import type { ChatRequest, ToolCall } from "@modelgate/domain/Chat"
import { validateMessages } from "@modelgate/testkit/FakeAnthropic/validate"
import { modelOf } from "@modelgate/testkit/TestModel"
import { Either } from "effect"
import { toAnthropicRequest } from "../src/Anthropic/Request.js"

const call = (id: string, name: string, args: string): ToolCall => ({ id, type: "function", function: { name, arguments: args } })

const bodyOf = (request: Omit<ChatRequest, "model">) =>
  Either.getOrThrow(toAnthropicRequest({ model: "claude-test", ...request }, modelOf("anthropic", "claude-x"), {
    stream: false,
    context: { provider: "anthropic", model: "claude-test" }
  }))

const toolLoop: ChatRequest["messages"] = [
  { role: "user", content: "weather in Paris and London?" },
  { role: "assistant", content: null, tool_calls: [call("call_1", "get_weather", "{\"city\":\"Paris\"}"), call("call_2", "get_weather", "{\"city\":\"London\"}"), call("call_3", "get_time", "")] },
  { role: "tool", tool_call_id: "call_2", content: "London: 12C" },
  { role: "tool", tool_call_id: "call_3", content: [{ type: "text", text: "12:00" }] },
  { role: "tool", tool_call_id: "call_1", content: "Paris: 20C" },
  { role: "user", content: "summarise what you found" }
]

describe("Anthropic tool history", () => {
  it("a tool history without tools declares the tools it calls, with tool_choice none: the Messages API takes it, and no call can come", () => {
    const body = bodyOf({ messages: toolLoop })
    assert.isUndefined(validateMessages(body))
    assert.deepStrictEqual(body.tools, [
      { name: "get_weather", input_schema: { type: "object" } },
      { name: "get_time", input_schema: { type: "object" } }
    ])
    assert.deepStrictEqual(body.tool_choice, { type: "none" })
  })

  it("tool_choice and parallel_tool_calls sent without tools change nothing of that", () => {
    const body = bodyOf({ messages: toolLoop, tool_choice: "auto", parallel_tool_calls: false })
    assert.isUndefined(validateMessages(body))
    assert.deepStrictEqual(body.tool_choice, { type: "none" })
  })

  it("with tools, the request's own tools and choice go as they are", () => {
    const tools = [{ type: "function" as const, function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }, { type: "function" as const, function: { name: "get_time" } }]
    const body = bodyOf({ messages: toolLoop, tools, tool_choice: "required", parallel_tool_calls: false })
    assert.isUndefined(validateMessages(body))
    assert.deepStrictEqual(body.tools?.map((t) => t.name), ["get_weather", "get_time"])
    assert.deepStrictEqual(body.tool_choice, { type: "any", disable_parallel_tool_use: true })
  })

  it("a tool whose parameters name no type (OpenAI takes `{}` for a tool without arguments) goes with input_schema type object, which the Messages API requires", () => {
    const tools = [
      { type: "function" as const, function: { name: "get_time", parameters: {} } },
      { type: "function" as const, function: { name: "get_weather", parameters: { properties: { city: { type: "string" } }, required: ["city"] } } }
    ]
    const body = bodyOf({ messages: toolLoop, tools })
    assert.isUndefined(validateMessages(body))
    assert.deepStrictEqual(body.tools?.map((t) => t.input_schema), [
      { type: "object" },
      { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
    ])
  })

  it("a conversation without tool use declares no tools", () => {
    const body = bodyOf({ messages: [{ role: "user", content: "hi" }] })
    assert.isUndefined(body.tools)
    assert.isUndefined(body.tool_choice)
  })
})
