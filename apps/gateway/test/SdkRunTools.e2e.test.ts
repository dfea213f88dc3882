/**
 * The official `openai` client's tool loop (`chat.completions.runTools`)
 * through the gateway, on each of the four providers, streamed and not:
 * three rounds (two parallel calls, then one, then the answer). The helper
 * reassembles each round's calls (their index, id and arguments), runs the
 * tools, sends the calls and their results back, and the provider gets the
 * whole conversation in its own shape; the usage adds up over the rounds.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import OpenAI from "openai"
import type { RunnableToolFunctionWithParse } from "openai/lib/RunnableFunction"
import { geminiSse, json, ollamaNdjson, openaiSse, type Raw, serveRaw } from "./support/RawProviders.js"

interface Call {
  readonly name: string
  readonly args: Record<string, unknown>
}
type Answer = (round: number, calls: ReadonlyArray<Call>, text: string) => Raw

const usage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 }
const finishOf = (calls: ReadonlyArray<Call>) => (calls.length > 0 ? "tool_calls" : "stop")

const openai: Record<"stream" | "whole", Answer> = {
  stream: (round, calls, text) => {
    const c = (delta: unknown, finish: string | null = null) => ({ id: `chatcmpl-${round}`, object: "chat.completion.chunk", created: 1, model: "gpt-4o-mini", choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })
    return openaiSse([
      c({ role: "assistant", content: text }),
      ...calls.flatMap((call, i) => [
        c({ tool_calls: [{ index: i, id: `call_${round}_${i}`, type: "function", function: { name: call.name, arguments: "" } }] }),
        c({ tool_calls: [{ index: i, function: { arguments: JSON.stringify(call.args) } }] })
      ]),
      c({}, finishOf(calls)),
      { id: `chatcmpl-${round}`, object: "chat.completion.chunk", created: 1, model: "gpt-4o-mini", choices: [], usage }
    ])
  },
  whole: (round, calls, text) =>
    json({
      id: `chatcmpl-${round}`, object: "chat.completion", created: 1, model: "gpt-4o-mini", usage,
      choices: [{
        index: 0, finish_reason: finishOf(calls),
        message: { role: "assistant", content: text === "" ? null : text, ...(calls.length > 0 ? { tool_calls: calls.map((call, i) => ({ id: `call_${round}_${i}`, type: "function", function: { name: call.name, arguments: JSON.stringify(call.args) } })) } : {}) }
      }]
    })
}

const event = (type: string, value: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...value })}\n\n`
const stopReason = (calls: ReadonlyArray<Call>) => (calls.length > 0 ? "tool_use" : "end_turn")
const anthropic: Record<"stream" | "whole", Answer> = {
  stream: (round, calls, text) => {
    const blocks = [
      ...(text !== "" ? [[event("content_block_start", { content_block: { type: "text", text: "" } }), event("content_block_delta", { delta: { type: "text_delta", text } })]] : []),
      ...calls.map((call, i) => [
        event("content_block_start", { content_block: { type: "tool_use", id: `toolu_${round}_${i}`, name: call.name, input: {} } }),
        event("content_block_delta", { delta: { type: "input_json_delta", partial_json: JSON.stringify(call.args) } })
      ])
    ]
    // Each block's events carry its position in the message.
    const indexed = blocks.flatMap((events, index) => [...events, event("content_block_stop", {})].map((e) => e.replace(/"type":"(content_block_\w+)"/, `"type":"$1","index":${index}`)))
    return {
      contentType: "text/event-stream",
      body: [
        event("message_start", { message: { id: `msg_${round}`, type: "message", role: "assistant", model: "claude-haiku-4-5", content: [], usage: { input_tokens: 10, output_tokens: 1 } } }),
        ...indexed,
        event("message_delta", { delta: { stop_reason: stopReason(calls), stop_sequence: null }, usage: { output_tokens: 5 } }),
        event("message_stop", {})
      ].join("")
    }
  },
  whole: (round, calls, text) =>
    json({
      id: `msg_${round}`, type: "message", role: "assistant", model: "claude-haiku-4-5", stop_reason: stopReason(calls), stop_sequence: null, usage: { input_tokens: 10, output_tokens: 5 },
      content: [...(text !== "" ? [{ type: "text", text }] : []), ...calls.map((call, i) => ({ type: "tool_use", id: `toolu_${round}_${i}`, name: call.name, input: call.args }))]
    })
}

const geminiUsage = { promptTokenCount: 10, candidatesTokenCount: 5, totalTokenCount: 15 }
const geminiParts = (calls: ReadonlyArray<Call>, text: string) => [...(text !== "" ? [{ text }] : []), ...calls.map((call) => ({ functionCall: { name: call.name, args: call.args } }))]
const google: Record<"stream" | "whole", Answer> = {
  // Each call in a chunk of its own.
  stream: (round, calls, text) => {
    const chunk = (parts: ReadonlyArray<unknown>, finish?: string) => ({ candidates: [{ content: { role: "model", parts }, index: 0, ...(finish !== undefined ? { finishReason: finish } : {}) }], usageMetadata: geminiUsage, responseId: `resp${round}` })
    return geminiSse([...(text !== "" ? [chunk([{ text }])] : []), ...geminiParts(calls, "").map((part) => chunk([part])), chunk([{ text: "" }], "STOP")])
  },
  whole: (round, calls, text) => json({ candidates: [{ content: { role: "model", parts: geminiParts(calls, text) }, finishReason: "STOP", index: 0 }], usageMetadata: geminiUsage, responseId: `resp${round}` })
}

const line = (message: object, done = false) => ({ model: "llama3.2", created_at: "2025-07-07T20:32:53.84Z", message: { role: "assistant", content: "", ...message }, done, ...(done ? { done_reason: "stop", prompt_eval_count: 10, eval_count: 5 } : {}) })
const ollamaCalls = (calls: ReadonlyArray<Call>) => calls.map((call) => ({ function: { name: call.name, arguments: call.args } }))
const ollama: Record<"stream" | "whole", Answer> = {
  // Each call on a line of its own, without an index (as Ollama before 0.12 sends them).
  stream: (_round, calls, text) =>
    ollamaNdjson([...(text !== "" ? [line({ content: text })] : []), ...ollamaCalls(calls).map((call) => line({ tool_calls: [call] })), line({}, true)]),
  whole: (_round, calls, text) => json(line({ content: text, ...(calls.length > 0 ? { tool_calls: ollamaCalls(calls) } : {}) }, true))
}

const tool = (name: string, run: (args: { city?: string }) => string): RunnableToolFunctionWithParse<{ city?: string }> => ({
  type: "function",
  function: { name, description: name, parameters: { type: "object", properties: { city: { type: "string" } } }, function: run, parse: JSON.parse }
})
const tools = [tool("get_weather", (args) => `sunny in ${args.city}`), tool("get_time", () => "12:00")]
const messages = [{ role: "user" as const, content: "weather in Paris and Rome, and the time?" }]

const cases = [["gpt", "openai", openai], ["claude", "anthropic", anthropic], ["gemini", "google", google], ["llama", "ollama", ollama]] as const

describe("the openai client's runTools through the gateway", () => {
  // One gateway for every case (a stack takes seconds to start on a loaded machine).
  it.scopedLive("each provider, whole and streamed: three rounds, parallel calls, results fed back, usage summed", () =>
    Effect.gen(function* () {
      const s = yield* serveRaw()
      const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: "unused", maxRetries: 0 })
      for (const [model, provider, answers] of cases) {
        for (const stream of [false, true]) {
          const label = `${model}, ${stream ? "streamed" : "whole"}`
          const before = s[provider].requests.length
          const answer = answers[stream ? "stream" : "whole"]
          s[provider].script(
            answer(1, [{ name: "get_weather", args: { city: "Paris" } }, { name: "get_time", args: {} }], "Let me look."),
            answer(2, [{ name: "get_weather", args: { city: "Rome" } }], ""),
            answer(3, [], "Sunny in both; it is noon.")
          )
          const runner = stream
            ? client.chat.completions.runTools({ model, tools, messages, stream: true, stream_options: { include_usage: true } })
            : client.chat.completions.runTools({ model, tools, messages })
          const content = yield* Effect.promise(() => runner.finalContent())
          const total = yield* Effect.promise(() => runner.totalUsage())
          assert.strictEqual(content, "Sunny in both; it is noon.", label)
          assert.deepStrictEqual(total, { prompt_tokens: 30, completion_tokens: 15, total_tokens: 45 }, label)
          // Each round's calls, each answered by its result under its id.
          const history = runner.messages.slice(1).map((m) =>
            m.role === "tool"
              ? ["tool", m.tool_call_id, m.content]
              : m.role === "assistant"
              ? ["assistant", (m.tool_calls ?? []).map((c) => c.type === "function" ? [c.id, c.function.name, c.function.arguments] : [])]
              : [m.role]
          )
          const ids = history.filter((h) => h[0] === "assistant").flatMap((h) => (h[1] as Array<Array<string>>).map((c) => c[0]!))
          assert.strictEqual(new Set(ids).size, 3, `${label}: three distinct call ids`)
          assert.deepStrictEqual<unknown>(history, [
            ["assistant", [[ids[0], "get_weather", "{\"city\":\"Paris\"}"], [ids[1], "get_time", "{}"]]],
            ["tool", ids[0], "sunny in Paris"],
            ["tool", ids[1], "12:00"],
            ["assistant", [[ids[2], "get_weather", "{\"city\":\"Rome\"}"]]],
            ["tool", ids[2], "sunny in Rome"],
            ["assistant", []]
          ], label)
          // The provider got the whole conversation back in the last round, results included.
          assert.strictEqual(s[provider].requests.length - before, 3, label)
          const last = JSON.stringify(s[provider].lastBody())
          for (const text of ["sunny in Paris", "12:00", "sunny in Rome", "Let me look."]) assert.include(last, text, label)
        }
      }
    }), 180_000)
})
