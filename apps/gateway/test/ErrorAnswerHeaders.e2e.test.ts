/**
 * The headers of the chat route's error answers, over a real socket with
 * scripted providers. Every answer carries `x-request-id`. An error answered
 * once the request tried a model carries the `x-modelgate-*` headers of a
 * success too: the last model tried and its provider, the failovers made
 * (models tried less one) and what the request was charged in all (`0`, or
 * what a provider billed for an answer that could not be used: the sum of
 * the request's cost records, counted once). Before the fix an error answer
 * carried `x-request-id` only, whatever the providers had billed. The body
 * stays the OpenAI error shape.
 */
import { assert, describe, it } from "@effect/vitest"
import { toUsd } from "@modelgate/domain/Money"
import * as LoopbackServer from "@modelgate/testkit/LoopbackServer"
import { Effect } from "effect"
import { formatUsd } from "../src/http/Usd.js"
import { rows, serveAll, waitUntil } from "./support/FourProviderStack.js"
import { json, type Raw, serveRaw } from "./support/RawProviders.js"

interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly text: string
}

const send = (url: string, body: string, id: string) =>
  Effect.promise((): Promise<Answer> =>
    fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", "x-request-id": id }, body })
      .then(async (r) => ({ status: r.status, headers: r.headers, text: await r.text() }))
  )

const ask = (model: string, stream = false) => JSON.stringify({ model, stream, messages: [{ role: "user", content: "hi" }] })

const failure = (status: number, type: string): Raw => ({
  status,
  contentType: "application/json",
  body: JSON.stringify({ error: { message: `scripted ${status}`, type } })
})

/** A Gemini answer given whole, and billed, that cannot be used (the gateway fails it over). */
const geminiMalformed = json({
  candidates: [{ content: { role: "model", parts: [{ text: "" }] }, finishReason: "MALFORMED_FUNCTION_CALL", index: 0 }],
  usageMetadata: { promptTokenCount: 1_000, candidatesTokenCount: 500, totalTokenCount: 1_500 },
  modelVersion: "gemini-2.5-flash"
})

const modelgateHeaders = ["x-modelgate-model", "x-modelgate-provider", "x-modelgate-cache", "x-modelgate-failovers", "x-modelgate-cost-usd"]

/** The OpenAI error shape, with its status and the request id echoed. */
const assertError = (r: Answer, status: number, id: string, code: string) => {
  assert.strictEqual(r.status, status, r.text)
  assert.strictEqual(r.headers.get("x-request-id"), id)
  assert.strictEqual(r.headers.get("content-type"), "application/json")
  const error = JSON.parse(r.text).error
  assert.deepStrictEqual(Object.keys(error).sort(), ["code", "message", "param", "type"])
  assert.strictEqual(error.code, code, r.text)
}

/** What the request did: the last model tried, the failovers made, what it was charged. */
const assertTried = (r: Answer, model: string, provider: string, failovers: number, costUsd: string) => {
  assert.deepStrictEqual(
    modelgateHeaders.map((h) => [h, r.headers.get(h)]),
    [
      ["x-modelgate-model", model],
      ["x-modelgate-provider", provider],
      ["x-modelgate-cache", "miss"],
      ["x-modelgate-failovers", String(failovers)],
      ["x-modelgate-cost-usd", costUsd]
    ],
    r.text
  )
}

const costOf = (db: string, id: string) =>
  waitUntil(
    () => rows<{ n: number; pico: number }>(db, `SELECT COUNT(*) AS n, COALESCE(SUM(cost_pico), 0) AS pico FROM cost_records WHERE request_id = '${id}'`)[0]!,
    (c) => c.n > 0
  )

describe("Error answers of POST /v1/chat/completions", () => {
  it.scopedLive("before any model is tried (a bad body, an unknown model): x-request-id only", () =>
    Effect.gen(function* () {
      const s = yield* serveRaw()
      const bad = yield* send(s.url, "{nope", "err-400")
      assertError(bad, 400, "err-400", "invalid_json")
      const unknown = yield* send(s.url, ask("no-such-model"), "err-404")
      assertError(unknown, 404, "err-404", "model_not_found")
      for (const r of [bad, unknown]) for (const h of modelgateHeaders) assert.isNull(r.headers.get(h), h)
    }))

  it.scopedLive("502 after failover, complete and streamed (failing before its first byte): the last model, 1 failover, cost 0", () =>
    Effect.gen(function* () {
      const s = yield* serveRaw()
      s.openai.script(failure(500, "server_error"))
      s.ollama.script(failure(500, "server_error"))
      const complete = yield* send(s.url, ask("gpt"), "err-502")
      assertError(complete, 502, "err-502", "all_candidates_failed")
      assertTried(complete, "llama", "ollama", 1, "0")
      s.openai.script(failure(500, "server_error"))
      s.ollama.script(failure(500, "server_error"))
      const streamed = yield* send(s.url, ask("gpt", true), "err-502-stream")
      assertError(streamed, 502, "err-502-stream", "all_candidates_failed")
      assertTried(streamed, "llama", "ollama", 1, "0")
    }))

  it.scopedLive("429 from every provider after failover: the last model and the failover", () =>
    Effect.gen(function* () {
      const s = yield* serveRaw()
      s.openai.script(failure(429, "rate_limit_error"))
      s.ollama.script(failure(429, "rate_limit_error"))
      const r = yield* send(s.url, ask("gpt"), "err-429")
      assertError(r, 429, "err-429", "rate_limit_exceeded")
      assertTried(r, "llama", "ollama", 1, "0")
    }))

  it.scopedLive("a failure after a billed answer: its cost, as the cost records have it, counted once", () =>
    Effect.gen(function* () {
      const s = yield* serveRaw()
      s.google.script(geminiMalformed)
      s.ollama.script(failure(500, "server_error"))
      const r = yield* send(s.url, ask("gemini"), "err-billed")
      assertError(r, 502, "err-billed", "all_candidates_failed")
      const recorded = yield* costOf(s.db, "err-billed")
      assert.strictEqual(recorded.n, 1, "the billed answer is the request's one cost record")
      assert.isAbove(recorded.pico, 0)
      assertTried(r, "llama", "ollama", 1, formatUsd(toUsd(recorded.pico)))
    }))

  it.scopedLive("504 when every candidate timed out: the last model and the failover", () =>
    Effect.gen(function* () {
      const silent = yield* LoopbackServer.make(() => {})
      const provider = { baseUrl: silent.url, maxRetries: 0, timeoutMs: 300 }
      const s = yield* serveAll({ providers: { openai: { ...provider, baseUrl: `${silent.url}/v1` }, anthropic: provider, google: provider, ollama: provider } })
      const r = yield* send(s.url, ask("gpt"), "err-504")
      assertError(r, 504, "err-504", "upstream_timeout")
      assertTried(r, "llama", "ollama", 1, "0")
    }))
})
