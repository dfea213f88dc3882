import { assert, describe, it } from "@effect/vitest"
import { BudgetExceeded } from "@modelgate/domain/Errors"
import type { GatewayEvent } from "@modelgate/domain/Events"
import { fromUsd, type PicoUsd } from "@modelgate/domain/Money"
import { CostRecord } from "@modelgate/domain/Records"
import { Context, Effect, Either, Layer, Option, Ref, Stream, TestClock } from "effect"
import { CostTracker } from "@modelgate/core/CostTracker"
import * as CostTrackerModule from "@modelgate/core/CostTracker"
import { Events } from "@modelgate/core/Events"
import * as GatewayConfig from "@modelgate/core/GatewayConfig"
import { BudgetLimit, BudgetsConfig, defaultConfig, GatewayConfigData, RecordsConfig } from "@modelgate/core/GatewayConfigSchema"
import * as RecordStore from "@modelgate/core/RecordStore"
import { RecordWriter } from "@modelgate/core/RecordWriter"
import * as AccountingMemory from "@modelgate/core/RecordWriter/Memory"
import { testModel } from "./TestModels.js"

const HOUR = 3_600_000
const DAY = 24 * HOUR

const a = testModel("a")
const b = testModel("b")

const usd = (n: number) => fromUsd(n)
let seq = 0
const spend = (m: string, amount: PicoUsd, at: number, agentType?: string) =>
  CostRecord.make({
    at,
    requestId: `q${++seq}`,
    model: m,
    provider: "openai",
    ...(agentType === undefined ? {} : { agentType }),
    promptTokens: 1,
    completionTokens: 1,
    cachedTokens: 0,
    costPicoUsd: amount,
    cacheHit: false
  })

class Captured extends Effect.Service<Captured>()("test/Captured", {
  effect: Ref.make<ReadonlyArray<GatewayEvent>>([])
}) {}

const env = (budgets: Partial<typeof BudgetsConfig.Type>, records: Layer.Layer<RecordStore.RecordStore | RecordStore.MemoryRecordStore> = RecordStore.layerMemory) => {
  const config = new GatewayConfigData({
    ...defaultConfig,
    budgets: BudgetsConfig.make({ ...defaultConfig.budgets, ...budgets }),
    records: RecordsConfig.make({ ...defaultConfig.records, flushIntervalMs: HOUR })
  })
  const events = Layer.effect(
    Events,
    Effect.map(Captured, (ref) => Events.of({ publish: (e) => Ref.update(ref, (all) => [...all, e]), subscribe: Stream.empty }))
  )
  return CostTrackerModule.layer.pipe(
    Layer.provideMerge(AccountingMemory.layerOver(records)),
    Layer.provideMerge(events),
    Layer.provideMerge(Captured.Default),
    Layer.provide(GatewayConfig.layerStatic(config))
  )
}

const published = (tag: GatewayEvent["_tag"]) =>
  Effect.map(Effect.flatMap(Captured, Ref.get), (all) => all.filter((e) => e._tag === tag))

describe("Budgets", () => {
  it.scoped("100 concurrent reservations against room for 10 let exactly 10 through", () =>
    Effect.gen(function* () {
      const costs = yield* CostTracker
      const results = yield* Effect.all(
        Array.from({ length: 100 }, () => Effect.either(costs.reserve(a, undefined, usd(0.1)))),
        { concurrency: "unbounded" }
      )
      const granted = results.filter(Either.isRight)
      assert.strictEqual(granted.length, 10)
      const refused = results.filter(Either.isLeft).map((e) => e.left)
      assert.isTrue(refused.every((e) => e instanceof BudgetExceeded && e.budget === "global" && e.period === "daily"))
      // committing less than reserved frees the difference
      yield* Effect.forEach(granted, (g) => costs.commit(g.right, spend("a", usd(0.05), 0)))
      const after = yield* Effect.all(
        Array.from({ length: 20 }, () => Effect.either(costs.reserve(a, undefined, usd(0.1)))),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(after.filter(Either.isRight).length, 5)
    }).pipe(Effect.provide(env({ global: BudgetLimit.make({ daily: 1 }) }))))

  it.scoped("release gives the reserved room back", () =>
    Effect.gen(function* () {
      const costs = yield* CostTracker
      const r = yield* costs.reserve(a, undefined, usd(0.8))
      assert.isTrue(Either.isLeft(yield* Effect.either(costs.checkBudget(a, undefined, usd(0.3)))))
      yield* costs.release(r)
      yield* costs.checkBudget(a, undefined, usd(0.3))
      assert.deepStrictEqual(yield* costs.budgetHeadroom(a, undefined), Option.some(BigInt(usd(1))))
    }).pipe(Effect.provide(env({ global: BudgetLimit.make({ daily: 1 }) }))))

  it.scoped("refused only for the holds of calls in flight: no retry time (room may come back when they end); over what is spent: the period's end", () =>
    Effect.gen(function* () {
      const costs = yield* CostTracker
      yield* TestClock.adjust(10 * HOUR)
      yield* costs.record(spend("a", usd(0.5), 10 * HOUR))
      const held = yield* costs.reserve(a, undefined, usd(0.4))
      // 0.5 spent + 0.3 fits the budget; only the 0.4 held by a call in flight leaves no room
      const byHolds = yield* Effect.flip(costs.reserve(a, undefined, usd(0.3)))
      assert.strictEqual(byHolds.requestUsd, 0.3)
      assert.isUndefined(byHolds.retryAfterMs, "told to retry at the period's end though the hold may end at once")
      // 0.6 does not fit what is spent, whatever the holds: retry when the period ends
      const overSpent = yield* Effect.flip(costs.reserve(a, undefined, usd(0.6)))
      assert.strictEqual(overSpent.retryAfterMs, 14 * HOUR)
      yield* costs.commit(held, spend("a", usd(0.1), 10 * HOUR))
      yield* costs.reserve(a, undefined, usd(0.3))
    }).pipe(Effect.provide(env({ global: BudgetLimit.make({ daily: 1 }) }))))

  it.scoped("each threshold is published and recorded once per period, and again in the next period", () =>
    Effect.gen(function* () {
      const costs = yield* CostTracker
      yield* TestClock.adjust(10 * HOUR)
      const now = 10 * HOUR
      yield* costs.record(spend("a", usd(0.3), now))
      assert.strictEqual((yield* published("BudgetThresholdCrossed")).length, 0)
      yield* costs.record(spend("a", usd(0.3), now))
      yield* costs.record(spend("a", usd(0.3), now))
      yield* costs.record(spend("a", usd(0.05), now))
      const crossed = yield* published("BudgetThresholdCrossed")
      assert.deepStrictEqual(
        crossed.map((e) => (e._tag === "BudgetThresholdCrossed" ? [e.budget, e.period, e.threshold] : [])),
        [["global", "daily", 0.5], ["global", "daily", 0.8]]
      )
      yield* costs.record(spend("a", usd(0.05), now))
      yield* costs.record(spend("a", usd(0.05), now))
      const thresholds = (yield* published("BudgetThresholdCrossed")).map((e) => (e._tag === "BudgetThresholdCrossed" ? e.threshold : 0))
      assert.deepStrictEqual(thresholds, [0.5, 0.8, 1])
      assert.strictEqual((yield* published("BudgetExceeded")).length, 1)

      yield* (yield* RecordWriter).flush
      const alerts = (yield* (yield* RecordStore.MemoryRecordStore).all).filter((r) => r._tag === "BudgetAlertRecord")
      assert.deepStrictEqual(alerts.map((r) => (r._tag === "BudgetAlertRecord" ? r.threshold : 0)), [0.5, 0.8, 1])

      // next UTC day: totals restart, thresholds fire again
      yield* TestClock.adjust(DAY)
      yield* costs.checkBudget(a, undefined, usd(0.5))
      yield* costs.record(spend("a", usd(0.6), now + DAY))
      assert.deepStrictEqual(
        (yield* published("BudgetThresholdCrossed")).map((e) => (e._tag === "BudgetThresholdCrossed" ? e.threshold : 0)),
        [0.5, 0.8, 1, 0.5]
      )
    }).pipe(Effect.provide(env({ global: BudgetLimit.make({ daily: 1 }) }))))

  it.scoped("a spent budget refuses with BudgetExceeded until the period ends; cache hits still record", () =>
    Effect.gen(function* () {
      const costs = yield* CostTracker
      yield* TestClock.adjust(10 * HOUR)
      yield* costs.record(spend("a", usd(1), 10 * HOUR))
      const refused = yield* Effect.flip(costs.reserve(a, undefined, 1 as PicoUsd))
      assert.strictEqual(refused._tag, "BudgetExceeded")
      assert.strictEqual(refused.retryAfterMs, 14 * HOUR)
      assert.strictEqual(refused.limitUsd, 1)
      // a zero-cost estimate is refused too: the budget is spent
      assert.isTrue(Either.isLeft(yield* Effect.either(costs.checkBudget(a, undefined, 0 as PicoUsd))))
      // a cache hit (zero cost, no reservation) is recorded and served
      yield* costs.record(CostRecord.make({ ...spend("a", 0 as PicoUsd, 10 * HOUR), cacheHit: true }))
      yield* TestClock.adjust(14 * HOUR)
      yield* costs.reserve(a, undefined, usd(0.5))
    }).pipe(Effect.provide(env({ global: BudgetLimit.make({ daily: 1 }) }))))

  it.scoped("a request whose most possible cost does not fit what is left is refused with that cost named", () =>
    Effect.gen(function* () {
      const costs = yield* CostTracker
      yield* costs.record(spend("a", usd(0.25), 0))
      const refused = yield* Effect.flip(costs.reserve(a, undefined, usd(0.96)))
      assert.strictEqual(refused.requestUsd, 0.96)
      assert.include(refused.message, "budget global (daily) has no room for this request: it may cost up to $0.960000")
      assert.include(refused.message, "set max_tokens")
      assert.include(refused.message, "$0.250000 of $1.000000 is spent or held")
      // a request that fits is still served
      yield* costs.reserve(a, undefined, usd(0.5))
    }).pipe(Effect.provide(env({ global: BudgetLimit.make({ daily: 1 }) }))))

  it.scoped("monthly budgets refuse until the first day of the next UTC month", () =>
    Effect.gen(function* () {
      const costs = yield* CostTracker
      yield* TestClock.adjust(20 * DAY) // 1970-01-21
      yield* costs.record(spend("a", usd(5), 20 * DAY))
      const refused = yield* Effect.flip(costs.reserve(a, undefined, usd(0.01)))
      assert.strictEqual(refused.period, "monthly")
      assert.strictEqual(refused.retryAfterMs, 11 * DAY)
    }).pipe(Effect.provide(env({ global: BudgetLimit.make({ monthly: 5 }) }))))

  it.scoped("a request refused by a spent day while the month is spent too is told to retry when the month ends, not at midnight", () =>
    Effect.gen(function* () {
      const costs = yield* CostTracker
      yield* costs.record(spend("a", usd(1), 0)) // 1970-01-01
      yield* TestClock.adjust(DAY)
      yield* costs.record(spend("a", usd(1), DAY))
      yield* TestClock.adjust(DAY + 10 * HOUR) // 1970-01-03 10:00: the day and the month are spent
      yield* costs.record(spend("a", usd(1), 2 * DAY + 10 * HOUR))
      const refused = yield* Effect.flip(costs.reserve(a, undefined, usd(0.01)))
      assert.strictEqual(refused.retryAfterMs, 28 * DAY + 14 * HOUR, "told to retry at midnight, when the month is still spent")
      assert.strictEqual(refused.period, "monthly")
      // at midnight the day is new but the month still refuses
      yield* TestClock.adjust(14 * HOUR)
      assert.strictEqual((yield* Effect.flip(costs.reserve(a, undefined, usd(0.01)))).period, "monthly")
    }).pipe(Effect.provide(env({ global: BudgetLimit.make({ daily: 1, monthly: 3 }) }))))

  it.scoped("a request that may cost more than a whole budget is refused with no retry time: no period's end makes it fit", () =>
    Effect.gen(function* () {
      const costs = yield* CostTracker
      yield* TestClock.adjust(10 * HOUR)
      const refused = yield* Effect.flip(costs.reserve(a, undefined, usd(1.5)))
      assert.strictEqual(refused.requestUsd, 1.5)
      assert.isUndefined(refused.retryAfterMs, "told to retry at midnight, when it is refused again")
      yield* TestClock.adjust(14 * HOUR)
      assert.isTrue(Either.isLeft(yield* Effect.either(costs.reserve(a, undefined, usd(1.5)))))
    }).pipe(Effect.provide(env({ global: BudgetLimit.make({ daily: 1 }) }))))

  it.scoped("per-model and per-agent-type budgets only hold back requests that spend on them", () =>
    Effect.gen(function* () {
      const costs = yield* CostTracker
      yield* costs.record(spend("a", usd(1), 0, "research"))
      const byModel = yield* Effect.flip(costs.reserve(a, undefined, usd(0.01)))
      assert.strictEqual(byModel.budget, "model:a")
      const cheaper = yield* costs.reserve(b, "chat", usd(0.5))
      yield* costs.commit(cheaper, spend("b", usd(0.5), 0, "chat"))
      const byAgent = yield* Effect.flip(costs.reserve(b, "chat", usd(0.6)))
      assert.strictEqual(byAgent.budget, "agentType:chat")
      yield* costs.reserve(b, "research", usd(0.6))
      const status = yield* costs.budgetStatus
      assert.deepStrictEqual(
        status.map((s) => [s.budget, s.period, s.spentPicoUsd]),
        [["model:a", "daily", BigInt(usd(1))], ["agentType:chat", "daily", BigInt(usd(0.5))]]
      )
    }).pipe(
      Effect.provide(
        env({
          perModel: { a: BudgetLimit.make({ daily: 1 }) },
          perAgentType: { chat: BudgetLimit.make({ daily: 1 }) }
        })
      )
    ))

  it.scoped("running totals are seeded from the store when the tracker starts", () =>
    Effect.gen(function* () {
      const costs = yield* CostTracker
      const refused = yield* Effect.flip(costs.reserve(a, undefined, usd(0.2)))
      assert.strictEqual(refused.spentUsd, 0.9)
      yield* costs.reserve(a, undefined, usd(0.1))
    }).pipe(
      Effect.provide(
        env(
          { global: BudgetLimit.make({ daily: 1 }) },
          Layer.effectContext(
            Effect.gen(function* () {
              const ctx = yield* RecordStore.makeMemory()
              const store = Context.get(ctx, RecordStore.RecordStore)
              yield* Effect.orDie(store.writeBatch([spend("a", usd(0.9), 0), spend("a", usd(5), -DAY)]))
              return ctx
            })
          )
        )
      )
    ))
})
