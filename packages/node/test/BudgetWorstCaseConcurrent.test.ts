/**
 * A global daily budget under 50 concurrent requests that set no
 * `max_tokens`. The provider may answer up to the model's output limit, so
 * the reservation must cover that; otherwise every concurrent request fits
 * its small estimate and the committed spend ends far above the budget.
 */
import { assert, describe, it } from "@effect/vitest"
import { CostTracker } from "@modelgate/core/CostTracker"
import { Gateway } from "@modelgate/core/Gateway"
import { toUsd } from "@modelgate/domain/Money"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect, Either, Fiber, Ref, TestClock } from "effect"
import { ask, noonUtc, poll, stack } from "./fixture.js"

const BUDGET = 0.05

describe("Budgets under concurrency", () => {
  it.scoped("50 concurrent requests without max_tokens never spend beyond the daily budget", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(noonUtc)
      const s = yield* stack({
        gateway: {
          cache: { enabled: false },
          budgets: { global: { daily: BUDGET } },
          failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0 }
        }
      })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const costs = yield* CostTracker
        const gate = yield* Effect.makeLatch(false)
        yield* s.openai.persist(Fault.hold(gate))
        yield* s.anthropic.persist(Fault.hold(gate))
        // a long question: the fake's answer is as long as the question (~5 000 tokens), more than the 1 024 default
        const long = "please repeat all of this text ".repeat(700)
        // each request either reaches a fake (held there) or is refused at once: wait until all 50 are one or the other
        const refused = yield* Ref.make(0)
        const fiber = yield* Effect.fork(
          Effect.all(
            Array.from({ length: 50 }, (_, i) =>
              Effect.either(gateway.complete(ask(`${i} ${long}`, "gpt-4o-mini"), defaultRequirements)).pipe(
                Effect.tap((r) => (Either.isLeft(r) ? Ref.update(refused, (n) => n + 1) : Effect.void))
              )),
            { concurrency: "unbounded" }
          )
        )
        yield* poll(
          Effect.all([s.openai.held, s.anthropic.held, Ref.get(refused)]),
          ([a, b, r]) => a + b + r === 50,
          10_000,
          "every request held by a fake or refused"
        )
        yield* s.openai.persist(undefined)
        yield* s.anthropic.persist(undefined)
        yield* gate.open
        const results = yield* Fiber.join(fiber)
        const answered = results.filter(Either.isRight).length
        assert.isAbove(answered, 0)
        const status = yield* costs.budgetStatus
        const global = status.find((b) => b.budget === "global" && b.period === "daily")!
        const spentUsd = toUsd(global.spentPicoUsd)
        assert.isAtMost(spentUsd, BUDGET, `${answered} requests answered, spent $${spentUsd} of a $${BUDGET} budget`)
      }).pipe(Effect.provide(s.layer))
    }), 30_000)
})
