/**
 * A global daily budget under 50 concurrent requests. The provider may
 * answer up to `max_tokens` (without one, up to the model's output limit), so
 * the reservation must cover that; otherwise every concurrent request fits
 * its small estimate and the committed spend ends far above the budget.
 * While they are in flight the holds never exceed the budget, and every
 * request that does not fit is refused with `BudgetExceeded` naming it (a
 * 429 at the HTTP edge), not a provider error.
 */
import { assert, describe, it } from "@effect/vitest"
import { CostTracker } from "@modelgate/core/CostTracker"
import { usdToPico } from "@modelgate/core/CostTracker/Budgets"
import { Gateway } from "@modelgate/core/Gateway"
import type { ChatRequest } from "@modelgate/domain/Chat"
import { toUsd } from "@modelgate/domain/Money"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect, Either, Fiber, Ref, TestClock } from "effect"
import { ask, noonUtc, poll, stack } from "./fixture.js"

const globalDaily = Effect.flatMap(CostTracker, (costs) =>
  Effect.map(costs.budgetStatus, (status) => status.find((b) => b.budget === "global" && b.period === "daily")!))

/**
 * 50 concurrent `request(i)` against a global daily `budget`, every provider
 * call held at the fakes until all 50 were either held there or refused.
 * Gives how many were held then, the global budget then, and the results.
 */
const fiftyAtOnce = (budget: number, request: (i: number) => ChatRequest) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(noonUtc)
    const s = yield* stack({
      gateway: {
        cache: { enabled: false },
        budgets: { global: { daily: budget } },
        failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0 }
      }
    })
    return yield* Effect.gen(function* () {
      const gateway = yield* Gateway
      const gate = yield* Effect.makeLatch(false)
      yield* s.openai.persist(Fault.hold(gate))
      yield* s.anthropic.persist(Fault.hold(gate))
      // each request either reaches a fake (held there) or is refused at once: wait until all 50 are one or the other
      const refused = yield* Ref.make(0)
      const fiber = yield* Effect.fork(
        Effect.all(
          Array.from({ length: 50 }, (_, i) =>
            Effect.either(gateway.complete(request(i), defaultRequirements)).pipe(
              Effect.tap((r) => (Either.isLeft(r) ? Ref.update(refused, (n) => n + 1) : Effect.void))
            )),
          { concurrency: "unbounded" }
        )
      )
      const [held] = yield* poll(
        Effect.all([Effect.zipWith(s.openai.held, s.anthropic.held, (a, b) => a + b), Ref.get(refused)]),
        ([h, r]) => h + r === 50,
        10_000,
        "every request held by a fake or refused"
      )
      const during = yield* globalDaily
      yield* s.openai.persist(undefined)
      yield* s.anthropic.persist(undefined)
      yield* gate.open
      const results = yield* Fiber.join(fiber)
      return { held, during, results, after: yield* globalDaily }
    }).pipe(Effect.provide(s.layer))
  })

describe("Budgets under concurrency", () => {
  it.scoped("50 concurrent requests without max_tokens never spend beyond the daily budget", () =>
    Effect.gen(function* () {
      const budget = 0.05
      // a long question: the fake's answer is as long as the question (~5 000 tokens), more than the 1 024 default
      const long = "please repeat all of this text ".repeat(700)
      const { after, results } = yield* fiftyAtOnce(budget, (i) => ask(`${i} ${long}`, "gpt-4o-mini"))
      const answered = results.filter(Either.isRight).length
      assert.isAbove(answered, 0)
      const spentUsd = toUsd(after.spentPicoUsd)
      assert.isAtMost(spentUsd, budget, `${answered} requests answered, spent $${spentUsd} of a $${budget} budget`)
    }), 30_000)

  it.scoped("holds stay within the budget while in flight; only the held reach a provider, the rest get BudgetExceeded naming it", () =>
    Effect.gen(function* () {
      const budget = 0.0005
      const { after, during, held, results } = yield* fiftyAtOnce(budget, (i) => ask(`question ${i}`, "gpt-4o-mini", { max_tokens: 100 }))
      assert.isAbove(held, 0)
      assert.isBelow(held, 50)
      const limit = usdToPico(budget)
      assert.isTrue(during.reservedPicoUsd + during.spentPicoUsd <= limit, `held ${during.reservedPicoUsd} + spent ${during.spentPicoUsd} pico-USD`)
      assert.strictEqual(results.filter(Either.isRight).length, held)
      for (const r of results) {
        if (Either.isRight(r)) continue
        assert.strictEqual(r.left._tag, "BudgetExceeded", r.left.message)
        assert.include(r.left.message, "global")
      }
      assert.strictEqual(after.reservedPicoUsd, 0n)
      assert.isTrue(after.spentPicoUsd <= limit, `spent ${after.spentPicoUsd} pico-USD`)
    }), 30_000)
})
