/**
 * Provider timeouts (`providers.<name>.timeoutMs`) end to end over real
 * sockets: a provider that accepts the connection and never answers, one
 * that sends its headers and then nothing, and a stream that stalls after
 * its first text. The client gets a 504 `upstream_timeout` naming each
 * candidate (nothing was sent yet) or, once its stream began, an error event
 * and no `[DONE]`; each attempt is recorded once, and its provider permit
 * (`maxConcurrency: 1`) and budget hold are given back, so the next request
 * is served.
 */
import { assert, describe, it } from "@effect/vitest"
import * as LoopbackServer from "@modelgate/testkit/LoopbackServer"
import { Effect } from "effect"
import { events, post, rows, serveAll, waitUntil } from "./support/FourProviderStack.js"
import { rawServer, sseBody } from "./support/RawProviders.js"

const timeoutMs = 300
const oa = (delta: unknown, finish: string | null = null) => ({
  id: "c",
  object: "chat.completion.chunk",
  created: 1,
  model: "gpt-4o-mini",
  choices: [{ index: 0, delta, finish_reason: finish }]
})
const chat = (stream: boolean) => ({ model: "gpt", stream, max_tokens: 4000, messages: [{ role: "user", content: "hi" }] })

/** OpenAI scripted, the others silent (they accept the connection and never answer); one call at a time per provider; `gpt` may hold one request's worst case at a time. */
const stack = Effect.gen(function* () {
  const openai = yield* rawServer()
  const silent = yield* LoopbackServer.make(() => {})
  const provider = (baseUrl: string) => ({ baseUrl, maxRetries: 0, timeoutMs, maxConcurrency: 1 })
  const s = yield* serveAll({
    providers: { openai: provider(`${openai.url}/v1`), anthropic: provider(silent.url), google: provider(silent.url), ollama: provider(silent.url) },
    budgets: { perModel: { gpt: { daily: 0.02 }, llama: { daily: 0.02 } } },
    healthCheck: { enabled: false, failureThreshold: 100 }
  })
  return { ...s, openai, silent }
})

/** A request that must not wait on a permit or hold that was never given back. */
const ask = (url: string, body: unknown, id: string) =>
  post(url, body, { "x-request-id": id }).pipe(
    Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error(`${id}: no answer within 10 s`) })
  )

const assertTimedOut = (r: { readonly status: number; readonly text: string }, what: string, gptDetail: string) => {
  assert.strictEqual(r.status, 504, `${what}: ${r.text}`)
  const error = JSON.parse(r.text).error
  assert.strictEqual(error.type, "timeout_error", what)
  assert.strictEqual(error.code, "upstream_timeout", what)
  assert.include(error.message, `gpt: Timeout (timeout after ${timeoutMs} ms from openai (model gpt): ${gptDetail}`, what)
  assert.include(error.message, `llama: Timeout (timeout after ${timeoutMs} ms from ollama (model llama): no answer`, what)
}

interface Perf {
  readonly request_id: string
  readonly model: string
  readonly error_class: string | null
}

const performance = (db: string, prefix: string, count: number) =>
  waitUntil(
    () => rows<Perf>(db, `SELECT request_id, model, error_class FROM performance_records WHERE request_id LIKE '${prefix}%' ORDER BY id`),
    (r) => r.length >= count
  )

describe("Provider timeouts, end to end", () => {
  it.scopedLive("no answer at all, or headers then nothing: 504 upstream_timeout naming each candidate; each attempt recorded once, nothing charged, permits and holds back", () =>
    Effect.gen(function* () {
      const s = yield* stack
      s.openai.script({ contentType: "application/json", body: "", hold: true })
      assertTimedOut(yield* ask(s.url, chat(false), "t-complete"), "complete, headers then nothing", "no answer")
      s.openai.script({ contentType: "text/event-stream", body: "", hold: true })
      assertTimedOut(yield* ask(s.url, chat(true), "t-stream"), "stream, headers then nothing", "no stream data")
      s.openai.script({ contentType: "application/json", body: "", hold: true })
      assertTimedOut(yield* ask(s.url, chat(false), "t-again"), "the next request, with the permits and holds given back", "no answer")
      assert.strictEqual(s.silent.requests.length, 3, "every request reached llama's provider")
      const perf = yield* performance(s.db, "t-", 6)
      assert.deepStrictEqual(
        perf.map((p) => `${p.request_id} ${p.model} ${p.error_class}`),
        ["t-complete", "t-stream", "t-again"].flatMap((id) => [`${id} gpt Timeout`, `${id} llama Timeout`])
      )
      assert.deepStrictEqual(rows(s.db, "SELECT request_id FROM cost_records WHERE request_id LIKE 't-%'"), [], "no answer, no charge")
    }), 30_000)

  it.scopedLive("a stream that stalls after its first text ends with an error event after timeoutMs; recorded and charged once; the next stream is served", () =>
    Effect.gen(function* () {
      const s = yield* stack
      s.openai.script({ contentType: "text/event-stream", body: sseBody([oa({ role: "assistant", content: "Hello" })]), hold: true })
      const r = yield* ask(s.url, chat(true), "stall")
      assert.strictEqual(r.status, 200, r.text)
      assert.strictEqual(r.headers.get("x-modelgate-model"), "gpt")
      const data = events(r.text)
      assert.isTrue(data[0]!.includes("Hello"), r.text)
      assert.isFalse(data.includes("[DONE]"), r.text)
      const error = JSON.parse(data[data.length - 1]!).error
      assert.strictEqual(error.code, "upstream_timeout", r.text)
      assert.include(error.message, `no stream data within ${timeoutMs} ms`)
      s.openai.script({ contentType: "text/event-stream", body: sseBody([oa({ role: "assistant", content: "Hi" }), oa({}, "stop"), "[DONE]"]) })
      const next = yield* ask(s.url, chat(true), "after-stall")
      assert.strictEqual(events(next.text).pop(), "[DONE]", next.text)
      const perf = yield* performance(s.db, "stall", 1)
      assert.deepStrictEqual(perf.map((p) => `${p.model} ${p.error_class}`), ["gpt Timeout"])
      assert.strictEqual(rows(s.db, "SELECT request_id FROM cost_records WHERE request_id = 'stall'").length, 1, "charged once")
    }), 30_000)
})
