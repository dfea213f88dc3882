/**
 * The finish reason a streamed answer ends with, from each provider's own
 * stop reason (PROVIDERS.md §5), over the real HTTP path: a complete answer
 * cut by the token limit (`length`), stopped by a filter after some text
 * (`content_filter`) or ending in a tool call (`tool_calls`) is a complete
 * answer, ending with `[DONE]`, not an error.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { events, post } from "./support/FourProviderStack.js"
import { chunksOf, geminiSse, ollamaNdjson, openaiSse, type Raw, reassemble, serveRaw } from "./support/RawProviders.js"

const named = (event: string, value: unknown) => `event: ${event}\ndata: ${JSON.stringify(value)}\n\n`
const anthropic = (stop: string, block: "text" | "tool"): Raw => ({
  contentType: "text/event-stream",
  body: [
    named("message_start", { type: "message_start", message: { id: "msg_1", type: "message", role: "assistant", model: "claude-haiku-4-5", content: [], usage: { input_tokens: 5, output_tokens: 1 } } }),
    block === "text"
      ? named("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }) +
        named("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hello" } })
      : named("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "tool_use", id: "toolu_1", name: "get_weather", input: {} } }) +
        named("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json: "{\"city\":\"Paris\"}" } }),
    named("content_block_stop", { type: "content_block_stop", index: 0 }),
    named("message_delta", { type: "message_delta", delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: 3 } }),
    named("message_stop", { type: "message_stop" })
  ].join("")
})
const gemini = (finishReason: string, part: unknown = { text: "Hello" }) =>
  geminiSse([{
    candidates: [{ content: { role: "model", parts: [part] }, index: 0, finishReason }],
    usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 3, totalTokenCount: 8 },
    modelVersion: "gemini-2.5-flash",
    responseId: "r"
  }])
const ollama = (doneReason: string, message: Record<string, unknown> = { role: "assistant", content: "Hello" }) =>
  ollamaNdjson([
    { model: "llama3.2", created_at: "2025-01-01T00:00:00Z", message, done: false },
    { model: "llama3.2", created_at: "2025-01-01T00:00:00Z", message: { role: "assistant", content: "" }, done: true, done_reason: doneReason, prompt_eval_count: 5, eval_count: 3 }
  ])
const openai = (finish: string, delta: unknown = { role: "assistant", content: "Hello" }) =>
  openaiSse([
    { id: "c", object: "chat.completion.chunk", created: 1, model: "gpt-4o-mini", choices: [{ index: 0, delta, finish_reason: null }] },
    { id: "c", object: "chat.completion.chunk", created: 1, model: "gpt-4o-mini", choices: [{ index: 0, delta: {}, finish_reason: finish }] },
    { id: "c", object: "chat.completion.chunk", created: 1, model: "gpt-4o-mini", choices: [], usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } }
  ])

const toolCall = { role: "assistant", content: null, tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "get_weather", arguments: "{\"city\":\"Paris\"}" } }] }
const cases: ReadonlyArray<{ readonly provider: "openai" | "anthropic" | "google" | "ollama"; readonly model: string; readonly answer: Raw; readonly finish: string }> = [
  { provider: "openai", model: "gpt", answer: openai("length"), finish: "length" },
  { provider: "openai", model: "gpt", answer: openai("content_filter"), finish: "content_filter" },
  { provider: "openai", model: "gpt", answer: openai("tool_calls", toolCall), finish: "tool_calls" },
  { provider: "anthropic", model: "claude", answer: anthropic("max_tokens", "text"), finish: "length" },
  { provider: "anthropic", model: "claude", answer: anthropic("refusal", "text"), finish: "content_filter" },
  { provider: "anthropic", model: "claude", answer: anthropic("tool_use", "tool"), finish: "tool_calls" },
  { provider: "google", model: "gemini", answer: gemini("MAX_TOKENS"), finish: "length" },
  { provider: "google", model: "gemini", answer: gemini("SAFETY"), finish: "content_filter" },
  { provider: "google", model: "gemini", answer: gemini("RECITATION"), finish: "content_filter" },
  { provider: "google", model: "gemini", answer: gemini("OTHER"), finish: "stop" },
  { provider: "google", model: "gemini", answer: gemini("STOP", { functionCall: { name: "get_weather", args: { city: "Paris" } } }), finish: "tool_calls" },
  { provider: "ollama", model: "llama", answer: ollama("length"), finish: "length" },
  {
    provider: "ollama",
    model: "llama",
    answer: ollama("stop", { role: "assistant", content: "", tool_calls: [{ function: { name: "get_weather", arguments: { city: "Paris" } } }] }),
    finish: "tool_calls"
  }
]

describe("The finish reason of a streamed answer, every provider", () => {
  it.scopedLive("length, content_filter and tool_calls end a complete answer with [DONE]", () =>
    Effect.gen(function* () {
      const s = yield* serveRaw()
      const seen: Array<string> = []
      for (const c of cases) {
        s[c.provider].script(c.answer)
        const r = yield* post(s.url, { model: c.model, stream: true, messages: [{ role: "user", content: "weather in Paris?" }] })
        const choice = reassemble(chunksOf(r.text)).get(0)
        const calls = [...(choice?.calls.values() ?? [])].map((call) => `${call.name}${call.arguments}`)
        seen.push(`${c.model} ${choice?.finish} ${events(r.text).pop()} ${c.finish === "tool_calls" ? calls.join() : choice?.content}`)
      }
      assert.deepStrictEqual(
        seen,
        cases.map((c) => `${c.model} ${c.finish} [DONE] ${c.finish === "tool_calls" ? "get_weather{\"city\":\"Paris\"}" : "Hello"}`)
      )
    }), 30_000)
})
