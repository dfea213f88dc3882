/**
 * A stream that fails before it carried any of the answer fails over, as a
 * failure before the first byte does. Anthropic opens every stream with
 * `message_start` (nothing of the answer: the gateway makes it a role-only
 * chunk) and may then send `event: error` `overloaded_error`; OpenAI opens
 * with a role-only chunk and may then send an error event. Before the fix
 * that role-only chunk committed the stream: the client got a 200 holding an
 * empty role delta and an error event, and the next candidate, ready to
 * answer, was never asked. (An error in the same read as the first text:
 * StreamFailoverFirstRead.e2e.test.ts.)
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { events, post, rows, waitUntil } from "./support/FourProviderStack.js"
import { gate, ndjson, postOpening, type Raw, serveRaw, sseBody } from "./support/RawProviders.js"

const named = (event: string, value: unknown) => `event: ${event}\ndata: ${JSON.stringify(value)}\n\n`
const messageStart = named("message_start", {
  type: "message_start",
  message: { id: "msg_1", type: "message", role: "assistant", model: "claude-haiku-4-5", content: [], usage: { input_tokens: 5, output_tokens: 1 } }
})
const overloaded = named("error", { type: "error", error: { type: "overloaded_error", message: "Overloaded" } })
const roleOnly = { id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model: "gpt-4o-mini", choices: [{ index: 0, delta: { role: "assistant", content: "", refusal: null }, finish_reason: null }] }
const serverError = { error: { message: "The server had an error while processing your request.", type: "server_error", param: null, code: null } }
const llamaAnswer: Raw = {
  contentType: "application/x-ndjson",
  body: ndjson([{ model: "llama3.2", created_at: "2025-01-01T00:00:00Z", message: { role: "assistant", content: "Hi from llama" }, done: true, done_reason: "stop", prompt_eval_count: 3, eval_count: 4 }])
}

const ask = (model: string) => ({ model, stream: true, messages: [{ role: "user", content: "say hi" }] })

describe("A stream that fails before any of the answer", () => {
  it.scopedLive("Anthropic message_start, ping, then overloaded_error: failover to the next candidate, which answers", () =>
    Effect.gen(function* () {
      const s = yield* serveRaw()
      s.anthropic.script({ contentType: "text/event-stream", body: messageStart + named("ping", { type: "ping" }) + overloaded })
      s.ollama.script(llamaAnswer)
      const r = yield* post(s.url, ask("claude"))
      assert.strictEqual(r.status, 200)
      assert.strictEqual(r.headers.get("x-modelgate-model"), "llama", r.text)
      assert.strictEqual(r.headers.get("x-modelgate-failovers"), "1")
      const data = events(r.text)
      assert.strictEqual(data[data.length - 1], "[DONE]", r.text)
      assert.include(r.text, "Hi from llama")
      assert.notInclude(r.text, "\"error\"")
      // The overload was the model's failure: health heard it.
      const checks = yield* waitUntil(
        () => rows<{ error_class: string }>(s.db, "SELECT error_class FROM health_checks WHERE model = 'claude' AND ok = 0"),
        (c) => c.length > 0
      )
      assert.deepStrictEqual(checks.map((c) => c.error_class), ["Overloaded"])
    }))

  it.scopedLive("OpenAI role-only chunk, then an error event: failover to the next candidate, which answers", () =>
    Effect.gen(function* () {
      const s = yield* serveRaw()
      s.openai.script({ contentType: "text/event-stream", body: sseBody([roleOnly, serverError]) })
      s.ollama.script(llamaAnswer)
      const r = yield* post(s.url, ask("gpt"))
      assert.strictEqual(r.headers.get("x-modelgate-model"), "llama", r.text)
      assert.include(r.text, "Hi from llama")
      assert.notInclude(r.text, "\"error\"")
    }))

  it.scopedLive("with failover.streamHoldMs 0 the opening goes out as it comes: an error in a later read ends the stream, no failover", () =>
    Effect.gen(function* () {
      const s = yield* serveRaw({ failover: { streamHoldMs: 0 } })
      const later = gate()
      s.openai.script({ contentType: "text/event-stream", body: sseBody([roleOnly]), rest: { after: later.opened, body: sseBody([serverError]) } })
      s.ollama.script(llamaAnswer)
      // The error comes once the client has the opening (in the same read as it, it fails over: StreamFailoverFirstRead).
      const r = yield* postOpening(s.url, ask("gpt"), "\"role\":\"assistant\"", later.open)
      assert.strictEqual(r.headers.get("x-modelgate-model"), "gpt", r.text)
      const data = events(r.text)
      assert.include(data[0]!, "\"role\":\"assistant\"")
      assert.isTrue(data[data.length - 1]!.startsWith("{\"error\""), r.text)
      assert.lengthOf(s.ollama.requests, 0)
    }))

  it.scopedLive("control: a stream that sent some of the answer to its client before its error is not failed over", () =>
    Effect.gen(function* () {
      const s = yield* serveRaw()
      const delta = named("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hel" } })
      const later = gate()
      s.anthropic.script({
        contentType: "text/event-stream",
        body: messageStart + named("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }) + delta,
        rest: { after: later.opened, body: overloaded }
      })
      const r = yield* postOpening(s.url, ask("claude"), "Hel", later.open)
      assert.strictEqual(r.headers.get("x-modelgate-model"), "claude")
      const data = events(r.text)
      assert.include(r.text, "Hel")
      assert.isTrue(data[data.length - 1]!.startsWith("{\"error\""), r.text)
      assert.lengthOf(s.ollama.requests, 0)
    }))
})
