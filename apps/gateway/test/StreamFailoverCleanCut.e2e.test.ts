/**
 * A provider may close its stream normally right after the first text, in
 * the same network read, without the stream's terminal event (OpenAI: no
 * `finish_reason` / `[DONE]`; Anthropic: no `message_stop`). Nothing of the
 * answer has reached the client then: the gateway fails over to the next
 * candidate, as it does for an error event or a reset in that read. Before
 * the fix the client got a 200 with the partial text and an error event, and
 * the fallback, ready to answer, was never asked. A stream that ends whole by
 * its adapter's rule in that read (an OpenAI-compatible server closing after
 * the `finish_reason` without `[DONE]`, Gemini's body end after its last
 * chunk) still goes out whole, without failover; a cut after the client saw
 * the first text still ends with an error event.
 */
import { assert, describe, it } from "@effect/vitest"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect } from "effect"
import { events, post, rows, serveAll, waitUntil } from "./support/FourProviderStack.js"
import { postOpening, serveRaw, sseBody } from "./support/RawProviders.js"

const ask = (model: string) => ({ model, stream: true, messages: [{ role: "user", content: "please stream a longer answer to me" }] })

type Perf = { model: string; success: number; error_class: string | null }

/** The text of an SSE body's chunks (choice 0), without [DONE] and error events. */
const textOf = (data: ReadonlyArray<string>) =>
  data.filter((d) => d !== "[DONE]").map((d) => JSON.parse(d).choices?.[0]?.delta?.content ?? "").join("")

/** The client got the fallback's (llama's) whole answer, cleanly. */
const assertFailedOver = (r: { status: number; headers: Headers; text: string }) => {
  assert.strictEqual(r.status, 200, r.text)
  assert.strictEqual(r.headers.get("x-modelgate-model"), "llama", r.text)
  assert.strictEqual(r.headers.get("x-modelgate-failovers"), "1", r.text)
  const data = events(r.text)
  assert.strictEqual(data[data.length - 1], "[DONE]", r.text)
  assert.notInclude(r.text, "\"error\"")
  assert.isAbove(textOf(data).length, 0, r.text)
}

/** The client got `model`'s answer whole, ended by [DONE], without failover. */
const assertWhole = (r: { status: number; headers: Headers; text: string }, model: string, text: string) => {
  assert.strictEqual(r.status, 200, r.text)
  assert.strictEqual(r.headers.get("x-modelgate-model"), model, r.text)
  assert.strictEqual(r.headers.get("x-modelgate-failovers"), "0", r.text)
  const data = events(r.text)
  assert.strictEqual(data[data.length - 1], "[DONE]", r.text)
  assert.notInclude(r.text, "\"error\"")
  assert.strictEqual(textOf(data), text, r.text)
}

describe("the first text and the connection's normal close in one read", () => {
  it.scopedLive("OpenAI: role and first text, then the body ends without finish_reason or [DONE]: failover to the fallback's whole answer", () =>
    Effect.gen(function* () {
      const s = yield* serveAll()
      yield* s.openai.script(Fault.cut(2))
      const r = yield* post(s.url, ask("gpt"), { "x-request-id": "clean-cut-openai" })
      assertFailedOver(r)
      // The cut attempt is recorded as the model's failure, the answer as llama's success.
      const perf = yield* waitUntil(
        () => rows<Perf>(s.db, "SELECT model, success, error_class FROM performance_records WHERE request_id = 'clean-cut-openai' ORDER BY id"),
        (p) => p.length >= 2
      )
      assert.deepStrictEqual(perf.map((p) => `${p.model} ${p.success} ${p.error_class}`), ["gpt 0 StreamInterrupted", "llama 1 null"])
    }), 20_000)

  it.scopedLive("Anthropic: the answer's text, then the body ends without message_stop: failover", () =>
    Effect.gen(function* () {
      const s = yield* serveAll()
      yield* s.anthropic.script(Fault.cut())
      assertFailedOver(yield* post(s.url, ask("claude")))
      assert.lengthOf(yield* s.ollama.requests, 1)
    }), 20_000)

  it.scopedLive("control: an OpenAI-compatible answer whole in one read, closed after its finish_reason without [DONE]: all of it, no failover", () =>
    Effect.gen(function* () {
      const s = yield* serveRaw()
      const oa = (delta: unknown, finish: string | null = null) => ({
        id: "chatcmpl-1",
        object: "chat.completion.chunk",
        created: 1,
        model: "gpt-4o-mini",
        choices: [{ index: 0, delta, finish_reason: finish }]
      })
      s.openai.script({ contentType: "text/event-stream", body: sseBody([oa({ role: "assistant", content: "" }), oa({ content: "Whole" }), oa({ content: " answer" }), oa({}, "stop")]) })
      assertWhole(yield* post(s.url, ask("gpt")), "gpt", "Whole answer")
      assert.lengthOf(s.ollama.requests, 0)
    }), 20_000)

  it.scopedLive("control: Gemini's whole answer in one read (its body's end is its end): all of it, no failover", () =>
    Effect.gen(function* () {
      const s = yield* serveAll()
      const r = yield* post(s.url, ask("gemini"))
      assertWhole(r, "gemini", textOf(events(r.text)))
      assert.include(r.text, "\"finish_reason\":\"stop\"")
      assert.lengthOf(yield* s.ollama.requests, 0)
    }), 20_000)

  it.scopedLive("control: the cut comes once the client saw the first text: no failover, the text then an error event", () =>
    Effect.gen(function* () {
      const s = yield* serveAll()
      const later = yield* Effect.makeLatch(false)
      yield* s.openai.script(Fault.cut(3, later))
      const r = yield* postOpening(s.url, ask("gpt"), "\"content\":\"", () => Effect.runSync(later.open))
      assert.strictEqual(r.headers.get("x-modelgate-model"), "gpt", r.text)
      assert.strictEqual(r.headers.get("x-modelgate-failovers"), "0", r.text)
      const data = events(r.text)
      assert.isTrue(data[data.length - 1]!.startsWith("{\"error\""), r.text)
      assert.notInclude(data, "[DONE]")
      assert.lengthOf(yield* s.ollama.requests, 0)
    }), 20_000)
})
