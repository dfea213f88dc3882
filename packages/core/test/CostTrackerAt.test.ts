import { assert, describe, it } from "@effect/vitest"
import type { GatewayEvent } from "@modelgate/domain/Events"
import { fromUsd, type PicoUsd } from "@modelgate/domain/Money"
import { CostRecord } from "@modelgate/domain/Records"
import { Clock, Effect, Either, Layer, Ref, Stream } from "effect"
import { type BudgetReservation, CostTracker } from "@modelgate/core/CostTracker"
import * as CostTrackerModule from "@modelgate/core/CostTracker"
import { Events } from "@modelgate/core/Events"
import * as GatewayConfig from "@modelgate/core/GatewayConfig"
import { BudgetLimit, BudgetsConfig, defaultConfig, GatewayConfigData, RecordsConfig } from "@modelgate/core/GatewayConfigSchema"
import * as RecordStore from "@modelgate/core/RecordStore"
import * as AccountingMemory from "@modelgate/core/RecordWriter/Memory"
import { testModel } from "./TestModels.js"

const model = testModel("a")

const config = new GatewayConfigData({
  ...defaultConfig,
  budgets: BudgetsConfig.make({ ...defaultConfig.budgets, global: BudgetLimit.make({ daily: 1 }), perModel: { a: BudgetLimit.make({ daily: 0.5 }) } }),
  records: RecordsConfig.make({ ...defaultConfig.records, flushIntervalMs: 3_600_000 })
})

/** Reserve, refuse, commit past thresholds and the limit: what was answered and published. */
const scenario = (useAt: boolean) =>
  Effect.gen(function*() {
    const published = yield* Ref.make<ReadonlyArray<GatewayEvent>>([])
    const events = Layer.succeed(Events, Events.of({ publish: (e) => Ref.update(published, (all) => [...all, e]), subscribe: Stream.empty }))
    const layer = CostTrackerModule.layer.pipe(
      Layer.provideMerge(AccountingMemory.layerOver(RecordStore.layerMemory)),
      Layer.provideMerge(events),
      Layer.provideMerge(GatewayConfig.layerStatic(config))
    )
    return yield* Effect.gen(function*() {
      const costs = yield* CostTracker
      const gatewayConfig = yield* GatewayConfig.GatewayConfig
      const at = <A, E>(f: (c: GatewayConfigData, now: number) => Effect.Effect<A, E>) =>
        Effect.flatMap(gatewayConfig.get, (c) => Effect.flatMap(Clock.currentTimeMillis, (now) => f(c, now)))
      const reserve = (amount: PicoUsd) =>
        useAt ? at((c, now) => costs.reserveAt!(c, now, model, undefined, amount)) : costs.reserve(model, undefined, amount)
      const commit = (r: BudgetReservation, cost: PicoUsd) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const record = CostRecord.make({
            at: now, requestId: r.id, model: "a", provider: "openai", promptTokens: 1, completionTokens: 1, cachedTokens: 0, costPicoUsd: cost, cacheHit: false
          })
          return useAt ? at((c, t) => costs.commitAt!(c, t, r, record)) : costs.commit(r, record)
        })
      const seen: Array<unknown> = []
      const r1 = yield* reserve(fromUsd(0.3))
      const refused = yield* Effect.either(reserve(fromUsd(0.3)))
      seen.push(Either.isLeft(refused) ? refused.left.message : "admitted")
      yield* commit(r1, fromUsd(0.3))
      const r2 = yield* reserve(fromUsd(0.1))
      yield* commit(r2, fromUsd(0.25))
      seen.push(Either.isLeft(yield* Effect.either(reserve(fromUsd(0.01)))) ? "refused when spent" : "admitted")
      const checks = yield* (useAt
        ? at((c, now) => costs.checkBudgetsAt!(c, now, undefined, [{ model, amount: fromUsd(0.01) }]))
        : costs.checkBudgets!(undefined, [{ model, amount: fromUsd(0.01) }]))
      seen.push(checks.map((e) => e?.budget))
      seen.push((yield* costs.budgetStatus).map((b) => [b.budget, b.spentPicoUsd.toString(), b.reservedPicoUsd.toString()]))
      return { seen, events: (yield* Ref.get(published)).map((e) => e._tag) }
    }).pipe(Effect.provide(layer))
  })

describe("CostTracker …At members", () => {
  it.scoped("reserveAt / commitAt / checkBudgetsAt on the caller's config and time do what reserve / commit / checkBudgets do", () =>
    Effect.gen(function*() {
      const plain = yield* scenario(false)
      assert.deepStrictEqual(yield* scenario(true), plain)
      assert.include(plain.events, "BudgetThresholdCrossed")
      assert.include(plain.events, "BudgetExceeded")
      assert.strictEqual(plain.seen[1], "refused when spent")
    }))
})
