/**
 * A client that hangs up on a slow non-streamed request (its timeout shorter
 * than the model's latency), end to end over real sockets: the provider got
 * the request and answers (and bills) it whole, so the gateway lets the call
 * run on, stores its cost and caches its answer: the client's retry is a
 * cache hit, not a second call.
 */
import { assert, describe, it } from "@effect/vitest"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect, Either } from "effect"
import { post, rows, serveAll, waitUntil } from "./support/FourProviderStack.js"

describe("A client that leaves a complete request while the provider works on it", () => {
  it.scopedLive("the call runs on: its cost is stored, and the client's retry is a cache hit", () =>
    Effect.gen(function* () {
      const s = yield* serveAll({ cache: { enabled: true } })
      // The model takes 1.5 s; the client gives up after 200 ms.
      yield* s.openai.script(Fault.delay({ headersMs: 1_500 }))
      const body = { model: "gpt", temperature: 0, messages: [{ role: "user", content: "hello, then gone" }] }
      const gaveUp = yield* Effect.either(Effect.tryPromise(() =>
        fetch(`${s.url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-request-id": "leave-complete" },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(200)
        })
      ))
      assert.isTrue(Either.isLeft(gaveUp), "the client timed out")
      const costs = yield* waitUntil(
        () => rows<{ completion_tokens: number; cost_pico: number }>(s.db, "SELECT completion_tokens, cost_pico FROM cost_records WHERE request_id = 'leave-complete'"),
        (r) => r.length > 0,
        5_000
      )
      assert.strictEqual(costs.length, 1, "the answer the provider billed is stored")
      assert.isAbove(costs[0]!.completion_tokens, 0)
      assert.isAbove(Number(costs[0]!.cost_pico), 0)
      const retry = yield* post(s.url, body)
      assert.strictEqual(retry.status, 200)
      assert.strictEqual(retry.headers.get("x-modelgate-cache"), "hit", retry.text)
      const sent = yield* s.openai.requests
      assert.strictEqual(sent.filter((r) => r.path.endsWith("/chat/completions")).length, 1, "the provider was called once")
    }), 30_000)
})
