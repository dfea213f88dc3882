/**
 * A client that hangs up on a non-streamed request while the provider's
 * adapter waits out a 429's `retry-after`, end to end over real sockets: the
 * call was left to run on (the provider bills what it has), but its retry
 * would be a new request the provider bills and nobody reads, so it is not
 * sent. Nothing is charged.
 */
import { assert, describe, it } from "@effect/vitest"
import * as FakeOpenAi from "@modelgate/testkit/FakeOpenAi"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect, Either } from "effect"
import { rows, serveAll, waitUntil } from "./support/FourProviderStack.js"

describe("A client that leaves a complete request while its adapter waits to retry", () => {
  it.scopedLive("the retry is not sent, and nothing is charged", () =>
    Effect.gen(function* () {
      // The OpenAI adapter retries (the other providers are not called here).
      const openai = yield* FakeOpenAi.make()
      const s = yield* serveAll({ providers: { openai: { baseUrl: openai.baseUrl, maxRetries: 2, timeoutMs: 5_000 } } })
      // Refused with a 2 s hint; the client gives up after 300 ms.
      yield* openai.script(Fault.status(429, { headers: { "retry-after": "2" } }))
      const gaveUp = yield* Effect.either(Effect.tryPromise(() =>
        fetch(`${s.url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-request-id": "leave-retry" },
          body: JSON.stringify({ model: "gpt", messages: [{ role: "user", content: "hello, then gone" }] }),
          signal: AbortSignal.timeout(300)
        })
      ))
      assert.isTrue(Either.isLeft(gaveUp), "the client timed out")
      const performance = yield* waitUntil(
        () => rows<{ error_class: string | null }>(s.db, "SELECT error_class FROM performance_records WHERE request_id = 'leave-retry'"),
        (r) => r.length > 0,
        6_000
      )
      assert.deepStrictEqual(performance.map((r) => r.error_class), ["RateLimited"], "the call ends with the refusal it waited out")
      const sent = yield* openai.requests
      assert.strictEqual(sent.filter((r) => r.path.endsWith("/chat/completions")).length, 1, "the retry was not sent")
      const costs = rows(s.db, "SELECT * FROM cost_records WHERE request_id = 'leave-retry'")
      assert.deepStrictEqual(costs, [], "nothing billed, nothing charged")
    }), 30_000)
})
