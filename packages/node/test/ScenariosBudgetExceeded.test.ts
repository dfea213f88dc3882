/**
 * Scenario: a spent budget refuses requests with the typed `BudgetExceeded`
 * (HTTP 429 `insufficient_quota`), at once and before any provider call; it
 * does not wait in the queue for a candidate that cannot free up before the
 * budget period ends.
 *
 * Time is `TestClock`, pinned at noon UTC (the daily budget cannot roll over
 * midnight mid-test) and never moved: every request must end with the clock
 * standing still, so the refusal did not wait in the queue (whose deadline is
 * 3 s of that clock). The fakes answer over real sockets.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Effect, Either, TestClock } from "effect"
import { ask, endsWithClockStill, noonUtc, stack } from "./fixture.js"

const chatCalls = (requests: ReadonlyArray<{ readonly path: string }>) => requests.filter((r) => r.path.endsWith("/chat/completions")).length

describe("Scenario: budget exceeded", () => {
  it.scoped("a spent global budget fails Gateway.complete with BudgetExceeded, at once, with no provider call", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(noonUtc)
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
          // an answer or the refusal, without waiting on the clock: the refusal did not wait in the queue
          const result = yield* endsWithClockStill(
            Effect.either(gateway.complete(ask(`spend ${i}`, "gpt-4o-mini", { max_tokens: 20 }), defaultRequirements)),
            `request ${i}`
          )
          if (Either.isRight(result)) answered++
          else refusal = result
        }
        assert.isTrue(refusal !== undefined && Either.isLeft(refusal))
        const error = Either.isLeft(refusal!) ? (refusal.left as { _tag: string; budget?: string; period?: string; retryAfterMs?: number }) : undefined
        assert.strictEqual(error?._tag, "BudgetExceeded")
        assert.strictEqual(error?.budget, "global")
        assert.strictEqual(error?.period, "daily")
        // retry when the daily period ends: midnight UTC, twelve hours after the pinned noon
        assert.strictEqual(error?.retryAfterMs, 12 * 60 * 60 * 1000)
        assert.strictEqual(chatCalls(yield* s.openai.requests) + (yield* s.anthropic.requests).length, answered)
      }).pipe(Effect.provide(s.layer))
    }), 20_000)
})
