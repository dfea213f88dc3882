/**
 * Scenario: a spent budget refuses requests with the typed `BudgetExceeded`
 * (HTTP 429 `insufficient_quota`), at once and before any provider call; it
 * does not wait in the queue for a candidate that cannot free up before the
 * budget period ends.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Clock, Effect, Either } from "effect"
import { ask, stack } from "./fixture.js"

const chatCalls = (requests: ReadonlyArray<{ readonly path: string }>) => requests.filter((r) => r.path.endsWith("/chat/completions")).length

describe("Scenario: budget exceeded", () => {
  it.scopedLive("a spent global budget fails Gateway.complete with BudgetExceeded, at once, with no provider call", () =>
    Effect.gen(function* () {
      const s = yield* stack({
        gateway: {
          cache: { enabled: false },
          budgets: { global: { daily: 0.0001 } },
          // a wait queue that would hold a request waiting for a candidate
          failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 3_000 }
        }
      })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        let answered = 0
        let refusal: Either.Either<unknown, unknown> | undefined
        for (let i = 0; i < 100 && refusal === undefined; i++) {
          const start = yield* Clock.currentTimeMillis
          const result = yield* Effect.either(gateway.complete(ask(`spend ${i}`, "gpt-4o-mini", { max_tokens: 20 }), defaultRequirements))
          if (Either.isRight(result)) answered++
          else {
            refusal = result
            assert.isBelow((yield* Clock.currentTimeMillis) - start, 1_000, "the refusal waited in the queue")
          }
        }
        assert.isTrue(refusal !== undefined && Either.isLeft(refusal))
        const error = Either.isLeft(refusal!) ? (refusal.left as { _tag: string; budget?: string; period?: string; retryAfterMs?: number }) : undefined
        assert.strictEqual(error?._tag, "BudgetExceeded")
        assert.strictEqual(error?.budget, "global")
        assert.strictEqual(error?.period, "daily")
        assert.isAbove(error?.retryAfterMs ?? 0, 0)
        assert.strictEqual(chatCalls(yield* s.openai.requests) + (yield* s.anthropic.requests).length, answered)
      }).pipe(Effect.provide(s.layer))
    }), 20_000)
})
