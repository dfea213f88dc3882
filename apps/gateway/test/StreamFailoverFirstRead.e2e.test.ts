/**
 * A provider's first network read may carry the first text AND the error
 * that ends the stream (OpenAI's `data: {"error"…}`, Anthropic's
 * `event: error`, Gemini's error event right after the first chunk). Nothing
 * of the answer has reached the client then: the gateway fails over to the
 * next candidate, as it does for a failure before the first byte, instead of
 * sending the first text and an error event. Before the fix the client got a
 * 200 with the doomed partial answer and an error event, and the fallback,
 * ready to answer, was never asked. An error that comes in a later read,
 * after the first text went out, still ends the stream with an error event.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { events, post, rows, waitUntil } from "./support/FourProviderStack.js"
import { gate, ndjson, postOpening, type Raw, serveRaw, sseBody } from "./support/RawProviders.js"

const sse = (body: string): Raw => ({ contentType: "text/event-stream", body })
const named = (event: string, value: unknown) => `event: ${event}\ndata: ${JSON.stringify(value)}\n\n`

const oa = (delta: unknown) => ({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model: "gpt-4o-mini", choices: [{ index: 0, delta, finish_reason: null }] })
const oaRole = oa({ role: "assistant", content: "", refusal: null })
const oaError = { error: { message: "The server had an error while processing your request.", type: "server_error", param: null, code: null } }

const anStart = named("message_start", {
  type: "message_start",
  message: { id: "msg_1", type: "message", role: "assistant", model: "claude-haiku-4-5", content: [], usage: { input_tokens: 5, output_tokens: 1 } }
}) + named("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } })
const anText = named("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Doomed" } })
const anOverloaded = named("error", { type: "error", error: { type: "overloaded_error", message: "Overloaded" } })

const geText = {
  candidates: [{ content: { role: "model", parts: [{ text: "Doomed" }] }, index: 0 }],
  usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 1, totalTokenCount: 6 },
  modelVersion: "gemini-2.5-flash",
  responseId: "resp-1"
}
const geError = { error: { code: 503, message: "The model is overloaded.", status: "UNAVAILABLE" } }

const llamaAnswer: Raw = {
  contentType: "application/x-ndjson",
  body: ndjson([
    { model: "llama3.2", created_at: "2025-01-01T00:00:00Z", message: { role: "assistant", content: "Hi from " }, done: false },
    { model: "llama3.2", created_at: "2025-01-01T00:00:00Z", message: { role: "assistant", content: "llama" }, done: true, done_reason: "stop", prompt_eval_count: 3, eval_count: 4 }
  ])
}

const ask = (model: string) => ({ model, stream: true, messages: [{ role: "user", content: "say hi" }] })

type Perf = { model: string; success: number; error_class: string | null }

/** The client got the fallback's whole answer, cleanly, and nothing of the failed model's. */
const assertFailedOver = (r: { status: number; headers: Headers; text: string }) => {
  assert.strictEqual(r.status, 200, r.text)
  assert.strictEqual(r.headers.get("x-modelgate-model"), "llama", r.text)
  assert.strictEqual(r.headers.get("x-modelgate-failovers"), "1")
  const data = events(r.text)
  assert.strictEqual(data[data.length - 1], "[DONE]", r.text)
  const text = data.filter((d) => d !== "[DONE]").map((d) => JSON.parse(d).choices?.[0]?.delta?.content ?? "").join("")
  assert.strictEqual(text, "Hi from llama", r.text)
  assert.notInclude(r.text, "Doomed")
  assert.notInclude(r.text, "\"error\"")
}

describe("the first text and an error in one read", () => {
  it.scopedLive("OpenAI: role, first text and an error event in one read: failover, the client gets the fallback's whole answer", () =>
    Effect.gen(function* () {
      const s = yield* serveRaw()
      s.openai.script(sse(sseBody([oaRole, oa({ content: "Doomed" }), oaError])))
      s.ollama.script(llamaAnswer)
      const r = yield* post(s.url, ask("gpt"), { "x-request-id": "first-read-openai" })
      assertFailedOver(r)
      // The failed attempt is recorded as the model's failure, the answer as llama's success.
      const perf = yield* waitUntil(
        () => rows<Perf>(s.db, "SELECT model, success, error_class FROM performance_records WHERE request_id = 'first-read-openai' ORDER BY id"),
        (p) => p.length >= 2
      )
      assert.deepStrictEqual(perf.map((p) => `${p.model} ${p.success} ${p.error_class}`), ["gpt 0 ServerError", "llama 1 null"])
    }))

  it.scopedLive("Anthropic: message_start, first text delta and overloaded_error in one read: failover", () =>
    Effect.gen(function* () {
      const s = yield* serveRaw()
      s.anthropic.script(sse(anStart + anText + anOverloaded))
      s.ollama.script(llamaAnswer)
      assertFailedOver(yield* post(s.url, ask("claude")))
    }))

  it.scopedLive("Gemini: first text and an error event in one read: failover", () =>
    Effect.gen(function* () {
      const s = yield* serveRaw()
      s.google.script(sse(sseBody([geText, geError], "\r\n")))
      s.ollama.script(llamaAnswer)
      assertFailedOver(yield* post(s.url, ask("gemini")))
    }))

  it.scopedLive("with failover.streamHoldMs 0, a role-only opening and an error in one read: failover (nothing went out yet)", () =>
    Effect.gen(function* () {
      const s = yield* serveRaw({ failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0, streamHoldMs: 0 } })
      s.openai.script(sse(sseBody([oaRole, oaError])))
      s.ollama.script(llamaAnswer)
      assertFailedOver(yield* post(s.url, ask("gpt")))
    }))

  it.scopedLive("control: the first text reached the client, the error came in a later read: no failover, the text then an error event", () =>
    Effect.gen(function* () {
      const s = yield* serveRaw()
      const later = gate()
      s.openai.script({ ...sse(sseBody([oaRole, oa({ content: "Sent" })])), rest: { after: later.opened, body: sseBody([oaError]) } })
      const r = yield* postOpening(s.url, ask("gpt"), "Sent", later.open)
      assert.strictEqual(r.headers.get("x-modelgate-model"), "gpt", r.text)
      assert.strictEqual(r.headers.get("x-modelgate-failovers"), "0", r.text)
      const data = events(r.text)
      assert.include(r.text, "Sent")
      assert.isTrue(data[data.length - 1]!.startsWith("{\"error\""), r.text)
      assert.notInclude(data, "[DONE]")
      assert.lengthOf(s.ollama.requests, 0)
    }))
})
