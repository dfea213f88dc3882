/**
 * A budget lowered by a reload while a request waits in the queue: the
 * request, once a candidate has room again, is held to the budget in force
 * then, not to the one it began under (it may have waited up to
 * `failover.queueDeadlineMs`). Time is `TestClock`, pinned at noon UTC.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Effect, Either, Fiber, TestClock } from "effect"
import { ask, models, noonUtc, stack } from "./fixture.js"
import { reload, settledIntoQueue, writeGateway } from "./reloadFixture.js"

const onlyMini = () => {
  const m = models({ rpm: 1 })
  return { ...m, models: [{ ...m.models[0]!, fallbacks: [] }] }
}
const chatCalls = (requests: ReadonlyArray<{ readonly path: string }>) => requests.filter((r) => r.path.endsWith("/chat/completions")).length

describe("Reload of budgets while a request waits in the queue", () => {
  it.scoped("a budget lowered below the spend refuses the waiting request with BudgetExceeded when it would run", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(noonUtc)
      const sections = (daily: number) => ({
        cache: { enabled: false },
        budgets: { global: { daily } },
        failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 120_000 }
      })
      const s = yield* stack({ models: onlyMini(), gateway: sections(10) })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        yield* gateway.complete(ask("spends, and takes the minute's only request"), defaultRequirements)
        const waiting = yield* Effect.fork(Effect.either(gateway.complete(ask("waits for the next minute"), defaultRequirements)))
        assert.strictEqual(yield* settledIntoQueue([waiting]), 0)
        // The operator lowers the daily budget below what was spent today.
        yield* writeGateway(s, sections(0.000001))
        yield* reload
        yield* TestClock.adjust("62 seconds")
        const result = yield* Fiber.join(waiting)
        assert.isTrue(Either.isLeft(result), "served past the lowered budget")
        if (Either.isLeft(result)) assert.strictEqual((result.left as { _tag: string })._tag, "BudgetExceeded")
        assert.strictEqual(chatCalls(yield* s.openai.requests), 1)
      }).pipe(Effect.provide(s.layer))
    }), 30_000)
})
