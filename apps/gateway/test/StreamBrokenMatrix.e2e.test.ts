/**
 * Every way a provider's stream can end broken (PROVIDERS.md, per wire
 * format), end to end over real sockets, for all four providers: after the
 * first text reached the client, it gets an OpenAI error event and never `data: [DONE]`,
 * and the failure is recorded (a failed performance record with its class, a
 * cost record for what was used, a failed traffic health check).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { events, post, rows, waitUntil } from "./support/FourProviderStack.js"
import { gate, postOpening, type Raw, serveRaw } from "./support/RawProviders.js"

const sse = (frames: ReadonlyArray<string>): Raw => ({ contentType: "text/event-stream", body: frames.join("") })
const data = (value: unknown) => `data: ${typeof value === "string" ? value : JSON.stringify(value)}\n\n`
const named = (event: string, value: unknown) => `event: ${event}\n${data(value)}`
const ndjson = (lines: ReadonlyArray<string>): Raw => ({ contentType: "application/x-ndjson", body: lines.join("") })

const oa = (delta: unknown, finish: string | null = null) => ({
  id: "chatcmpl-x",
  object: "chat.completion.chunk",
  created: 1,
  model: "gpt-4o-mini",
  choices: [{ index: 0, delta, finish_reason: finish }]
})
const oaUsage = { id: "chatcmpl-x", object: "chat.completion.chunk", created: 1, model: "gpt-4o-mini", choices: [], usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } }
const oaStart = [data(oa({ role: "assistant", content: "" })), data(oa({ content: "Hello" })), data(oa({ content: " there" }))]

const anStart = [
  named("message_start", { type: "message_start", message: { id: "msg_1", type: "message", role: "assistant", model: "claude-haiku-4-5", content: [], usage: { input_tokens: 5, output_tokens: 1 } } }),
  named("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
  named("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hello" } }),
  named("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: " there" } })
]
const anEnd = (stop: string | null) => [
  named("content_block_stop", { type: "content_block_stop", index: 0 }),
  named("message_delta", { type: "message_delta", delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: 2 } })
]

const ge = (parts: string, finish?: string) => ({
  candidates: [{ content: { role: "model", parts: [{ text: parts }] }, index: 0, ...(finish !== undefined ? { finishReason: finish } : {}) }],
  usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 2, totalTokenCount: 7 },
  modelVersion: "gemini-2.5-flash",
  responseId: "resp-1"
})
const geStart = [data(ge("Hello")), data(ge(" there"))]

const ol = (content: string) => JSON.stringify({ model: "llama3.2", created_at: "2025-01-01T00:00:00Z", message: { role: "assistant", content }, done: false }) + "\n"
const olStart = [ol("Hello"), ol(" there")]

type Provider = "openai" | "anthropic" | "google" | "ollama"
interface Case {
  readonly name: string
  readonly provider: Provider
  readonly model: string
  readonly answer: Raw
  /** The error class it is recorded with. */
  readonly error: string
}

const reset = (raw: Raw): Raw => ({ ...raw, reset: true })

/**
 * `raw` with what follows its first text ("Hello") written in a later read,
 * once the client has that text: a break in the same read as the first text
 * fails over instead (StreamFailoverFirstRead.e2e.test.ts).
 */
const afterFirstText = (raw: Raw, after: Promise<unknown>): Raw => {
  const end = raw.contentType.includes("ndjson") ? "\n" : "\n\n"
  const at = raw.body.indexOf(end, raw.body.indexOf("Hello")) + end.length
  return { ...raw, body: raw.body.slice(0, at), rest: { after, body: raw.body.slice(at) } }
}
const half = (frame: string) => frame.slice(0, Math.floor(frame.length / 2))

const broken: ReadonlyArray<Case> = [
  // After its finish_reason a body may end without [DONE] (vLLM, llama.cpp): a whole answer. Before it, a cut.
  { name: "OpenAI: ends before its finish_reason, without data: [DONE]", provider: "openai", model: "gpt", answer: sse([...oaStart, data(oaUsage)]), error: "StreamInterrupted" },
  { name: "OpenAI: [DONE] without any finish_reason", provider: "openai", model: "gpt", answer: sse([...oaStart, data(oaUsage), data("[DONE]")]), error: "StreamInterrupted" },
  { name: "OpenAI: a truncated last event", provider: "openai", model: "gpt", answer: sse([...oaStart, half(data(oa({ content: "!" })))]), error: "StreamInterrupted" },
  { name: "OpenAI: reset between events", provider: "openai", model: "gpt", answer: reset(sse(oaStart)), error: "StreamInterrupted" },
  { name: "OpenAI: reset mid-event", provider: "openai", model: "gpt", answer: reset(sse([...oaStart, half(data(oa({ content: "!" })))])), error: "StreamInterrupted" },
  { name: "OpenAI: an event that is not JSON", provider: "openai", model: "gpt", answer: sse([...oaStart, data("{not json"), data(oa({}, "stop")), data("[DONE]")]), error: "MalformedResponse" },
  { name: "OpenAI: an error event mid-stream", provider: "openai", model: "gpt", answer: sse([...oaStart, data({ error: { message: "The server had an error", type: "server_error", code: null } })]), error: "ServerError" },
  { name: "Anthropic: ends without message_stop", provider: "anthropic", model: "claude", answer: sse([...anStart, ...anEnd("end_turn")]), error: "StreamInterrupted" },
  { name: "Anthropic: reset mid-event", provider: "anthropic", model: "claude", answer: reset(sse([...anStart, half(anEnd("end_turn")[0]!)])), error: "StreamInterrupted" },
  { name: "Anthropic: overloaded_error event mid-stream", provider: "anthropic", model: "claude", answer: sse([...anStart, named("error", { type: "error", error: { type: "overloaded_error", message: "Overloaded" } })]), error: "Overloaded" },
  { name: "Anthropic: message_stop without a stop_reason", provider: "anthropic", model: "claude", answer: sse([...anStart, ...anEnd(null), named("message_stop", { type: "message_stop" })]), error: "MalformedResponse" },
  { name: "Anthropic: an event that is not JSON", provider: "anthropic", model: "claude", answer: sse([...anStart, "event: content_block_delta\ndata: {\"type\":\"content_bl\n\n", ...anEnd("end_turn"), named("message_stop", { type: "message_stop" })]), error: "MalformedResponse" },
  { name: "Gemini: ends without a finishReason", provider: "google", model: "gemini", answer: sse(geStart), error: "StreamInterrupted" },
  { name: "Gemini: reset between events", provider: "google", model: "gemini", answer: reset(sse(geStart)), error: "StreamInterrupted" },
  { name: "Gemini: MALFORMED_FUNCTION_CALL", provider: "google", model: "gemini", answer: sse([...geStart, data(ge("", "MALFORMED_FUNCTION_CALL"))]), error: "MalformedResponse" },
  { name: "Gemini: an error event mid-stream", provider: "google", model: "gemini", answer: sse([...geStart, data({ error: { code: 503, message: "The model is overloaded.", status: "UNAVAILABLE" } })]), error: "Overloaded" },
  { name: "Gemini: a truncated last event carrying the finishReason", provider: "google", model: "gemini", answer: sse([...geStart, half(data(ge("!", "STOP")))]), error: "StreamInterrupted" },
  { name: "Ollama: ends without done: true", provider: "ollama", model: "llama", answer: ndjson(olStart), error: "StreamInterrupted" },
  { name: "Ollama: reset between lines", provider: "ollama", model: "llama", answer: reset(ndjson(olStart)), error: "StreamInterrupted" },
  { name: "Ollama: an error line", provider: "ollama", model: "llama", answer: ndjson([...olStart, JSON.stringify({ error: "an error was encountered while running the model" }) + "\n"]), error: "ServerError" },
  // A last line cut short is the stream cut, not a malformed answer (as an SSE event cut short is).
  { name: "Ollama: a truncated last line", provider: "ollama", model: "llama", answer: ndjson([...olStart, half(ol("!"))]), error: "StreamInterrupted" },
  { name: "Ollama: reset mid-line", provider: "ollama", model: "llama", answer: reset(ndjson([...olStart, half(ol("!"))])), error: "StreamInterrupted" },
  { name: "Ollama: done: true with done_reason load", provider: "ollama", model: "llama", answer: ndjson([...olStart, JSON.stringify({ model: "llama3.2", message: { role: "assistant", content: "" }, done: true, done_reason: "load" }) + "\n"]), error: "MalformedResponse" }
]

/** The classes that say the model, not the request, is unwell (a cut stream is one: the model's traffic broke). */
const unwell = new Set(["StreamInterrupted", "Overloaded", "ServerError"])

type Perf = { request_id: string; success: number; error_class: string | null }
type Check = { model: string; error_class: string }

describe("A stream that ends broken, any provider, any wire fault", () => {
  it.scopedLive("ends with an error event and no [DONE]; recorded as failed with its class, its cost recorded once, health told", () =>
    Effect.gen(function* () {
      // Every break is a failure of its model: far more than the default three in a row would take it out of service.
      const s = yield* serveRaw({ healthCheck: { enabled: false, failureThreshold: 100 } })
      const failures: Array<string> = []
      for (const [i, c] of broken.entries()) {
        const later = gate()
        s[c.provider].script(afterFirstText(c.answer, later.opened))
        const body = { model: c.model, stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: `case ${i}` }] }
        const r = yield* postOpening(s.url, body, "Hello", later.open, { "x-request-id": `case-${i}` })
        const data = events(r.text)
        const last = data[data.length - 1] ?? ""
        if (r.status !== 200 || r.headers.get("x-modelgate-model") !== c.model) failures.push(`${c.name}: answered ${r.status} by ${r.headers.get("x-modelgate-model")}: ${r.text}`)
        else if (data.some((d) => d.trim() === "[DONE]") || !last.startsWith("{\"error\"")) failures.push(`${c.name}: ended ${JSON.stringify(last)}`)
        else if (!data.some((d) => d.includes("Hello"))) failures.push(`${c.name}: the text before the break was not delivered`)
      }
      assert.deepStrictEqual(failures, [])
      const perf = yield* waitUntil(
        () => rows<Perf>(s.db, "SELECT request_id, success, error_class FROM performance_records WHERE request_id LIKE 'case-%'"),
        (r) => r.length >= broken.length
      )
      const recorded = (i: number) => perf.filter((p) => p.request_id === `case-${i}`).map((p) => `${p.success} ${p.error_class}`)
      assert.deepStrictEqual(broken.map((_, i) => recorded(i)), broken.map((c) => [`0 ${c.error}`]))
      const costs = rows<{ request_id: string }>(s.db, "SELECT request_id FROM cost_records WHERE request_id LIKE 'case-%'")
      assert.deepStrictEqual(broken.map((_, i) => costs.filter((c) => c.request_id === `case-${i}`).length), broken.map(() => 1))
      const checks = yield* waitUntil(
        () => rows<Check>(s.db, "SELECT model, error_class FROM health_checks WHERE source = 'traffic' AND ok = 0 ORDER BY id"),
        (r) => r.length >= broken.filter((c) => unwell.has(c.error)).length
      )
      assert.deepStrictEqual(
        checks.map((c) => `${c.model} ${c.error_class}`),
        broken.filter((c) => unwell.has(c.error)).map((c) => `${c.model} ${c.error}`)
      )
    }), 60_000)

  it.scopedLive("an OpenAI-compatible body that ends after its finish_reason without [DONE] (vLLM, llama.cpp): the whole answer, [DONE], a success", () =>
    Effect.gen(function* () {
      const s = yield* serveRaw()
      s.openai.script(sse([...oaStart, data(oa({}, "stop")), data(oaUsage)]))
      const body = { model: "gpt", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "no done" }] }
      const r = yield* post(s.url, body, { "x-request-id": "no-done" })
      const got = events(r.text)
      assert.strictEqual(r.status, 200)
      assert.strictEqual(got.at(-1)?.trim(), "[DONE]")
      assert.isFalse(got.some((d) => d.startsWith("{\"error\"")), r.text)
      assert.isTrue(got.some((d) => d.includes("Hello")))
      const perf = yield* waitUntil(() => rows<Perf>(s.db, "SELECT request_id, success, error_class FROM performance_records WHERE request_id = 'no-done'"), (p) => p.length >= 1)
      assert.deepStrictEqual(perf.map((p) => `${p.success} ${p.error_class}`), ["1 null"])
    }), 30_000)
})
