/**
 * Parallel tool calls answered out of order, translated for Gemini. Gemini
 * pairs function responses with the calls of the turn before them ("one
 * response per call, all in one turn, directly after the call turn",
 * PROVIDERS.md; no ids are sent), so two calls of the same function
 * answered London first, Paris second would give Paris's call London's
 * weather. OpenAI pairs them by `tool_call_id`, in any order.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ToolCall } from "@modelgate/domain/Chat"
import { validateGenerate } from "@modelgate/testkit/FakeGoogle/validate"
import { Either } from "effect"
import { toGeminiRequest, translateContents } from "../src/Google/Request.js"

const call = (id: string, name: string, args: string): ToolCall => ({ id, type: "function", function: { name, arguments: args } })

describe("Gemini tool history", () => {
  it("function responses go in the order of their calls, whatever the order of the tool messages; a user message after them follows them", () => {
    const out = Either.getOrThrow(translateContents([
      { role: "user", content: "weather in Paris and London, and the time?" },
      { role: "assistant", content: null, tool_calls: [call("call_1", "get_weather", "{\"city\":\"Paris\"}"), call("call_2", "get_weather", "{\"city\":\"London\"}"), call("call_3", "get_time", "")] },
      { role: "tool", tool_call_id: "call_3", content: "12:00" },
      { role: "tool", tool_call_id: "call_2", content: "London: 12C" },
      { role: "tool", tool_call_id: "call_1", content: [{ type: "text", text: "Paris: " }, { type: "text", text: "20C" }] },
      { role: "user", content: "compare them" }
    ]))
    assert.deepStrictEqual(out.contents[2], {
      role: "user",
      parts: [
        { functionResponse: { name: "get_weather", response: { output: "Paris: 20C" } } },
        { functionResponse: { name: "get_weather", response: { output: "London: 12C" } } },
        { functionResponse: { name: "get_time", response: { output: "12:00" } } },
        { text: "compare them" }
      ]
    })
  })

  it("each turn's responses are ordered by that turn's calls; the body passes the fake's validation", () => {
    const body = Either.getOrThrow(toGeminiRequest({
      model: "gemini-test",
      messages: [
        { role: "user", content: "go" },
        { role: "assistant", content: null, tool_calls: [call("a", "f", "{}"), call("b", "g", "{}")] },
        { role: "tool", tool_call_id: "b", content: "B" },
        { role: "tool", tool_call_id: "a", content: "A" },
        { role: "assistant", content: "next", tool_calls: [call("c", "g", "{}"), call("d", "f", "{}")] },
        { role: "tool", tool_call_id: "d", content: "D" },
        { role: "tool", tool_call_id: "c", content: "C" }
      ]
    }, { provider: "google", model: "gemini-test" }))
    assert.isUndefined(validateGenerate(body))
    const responses = body.contents.filter((c) => c.role === "user").slice(1).map((c) =>
      c.parts.map((p) => ("functionResponse" in p ? p.functionResponse.response["output"] : undefined)))
    assert.deepStrictEqual(responses, [["A", "B"], ["C", "D"]])
  })

  it("a history that opens with the assistant's tool call (an agent that acts before the user speaks, a history cut to its last turns) goes with a stand-in user turn first, which Gemini requires; OpenAI takes it as it is", () => {
    const body = Either.getOrThrow(toGeminiRequest({
      model: "gemini-test",
      messages: [
        { role: "system", content: "Greet the caller by name." },
        { role: "assistant", content: null, tool_calls: [call("a", "lookup_caller", "{}")] },
        { role: "tool", tool_call_id: "a", content: "Ada" }
      ]
    }, { provider: "google", model: "gemini-test" }))
    assert.isUndefined(validateGenerate(body))
    assert.deepStrictEqual(body.contents.map((c) => c.role), ["user", "model", "user"])
    assert.deepStrictEqual(body.contents.slice(1).map((c) => c.parts.map((p) => Object.keys(p)[0])), [["functionCall"], ["functionResponse"]])
    assert.deepStrictEqual(body.systemInstruction, { parts: [{ text: "Greet the caller by name." }] })
  })
})
