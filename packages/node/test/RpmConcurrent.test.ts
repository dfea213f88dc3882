/**
 * 50 concurrent requests against an RPM of 10 send at most 10
 * to the provider; the rest go to the fallback.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Effect, Either, TestClock } from "effect"
import { ask, models, noonUtc, stack } from "./fixture.js"

const chatCalls = (requests: ReadonlyArray<{ readonly path: string }>) => requests.filter((r) => r.path.endsWith("/chat/completions")).length

describe("RPM under concurrency", () => {
  it.scoped("50 concurrent requests, rpm 10: exactly 10 reach the provider", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(noonUtc)
      const s = yield* stack({ models: models({ rpm: 10 }), gateway: { cache: { enabled: false }, failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0 } } })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const results = yield* Effect.all(
          Array.from({ length: 50 }, (_, i) => Effect.either(gateway.complete(ask(`q ${i}`), defaultRequirements))),
          { concurrency: "unbounded" }
        )
        const onMini = results.filter((r) => Either.isRight(r) && r.right.meta.model === "gpt-4o-mini").length
        assert.strictEqual(onMini, 10)
        assert.strictEqual(chatCalls(yield* s.openai.requests), 10)
      }).pipe(Effect.provide(s.layer))
    }), 20_000)
})
