/**
 * Reloads that change budgets while spend accrues: reloads alone never
 * announce anything again; a lowered limit refuses at once and announces the
 * budget spent once; a raised limit is watched afresh (its thresholds and its
 * exhaustion are announced when reached, once each); the spend of the period
 * is kept whatever the reloads (a removed budget, a changed period).
 */
import { assert, describe, it } from "@effect/vitest"
import type { GatewayEvent } from "@modelgate/domain/Events"
import { fromUsd } from "@modelgate/domain/Money"
import { CostRecord } from "@modelgate/domain/Records"
import { Effect, Either, Layer, Ref, Stream, TestClock } from "effect"
import { CostTracker } from "../src/CostTracker.js"
import * as CostTrackerModule from "../src/CostTracker.js"
import { Events } from "../src/Events.js"
import { BudgetLimit, BudgetsConfig, defaultConfig, GatewayConfigData, RecordsConfig } from "../src/GatewayConfigSchema.js"
import * as RecordStore from "../src/RecordStore.js"
import * as AccountingMemory from "../src/RecordWriter/Memory.js"
import { ConfigFiles, layerReloadable } from "./ReloadableConfig.js"
import { testModel } from "./TestModels.js"

const HOUR = 3_600_000
const a = testModel("a")

/** The configuration with these global limits (USD). */
const withGlobal = (limit: { readonly daily?: number; readonly monthly?: number }) =>
  new GatewayConfigData({
    ...defaultConfig,
    budgets: BudgetsConfig.make({ ...defaultConfig.budgets, global: BudgetLimit.make(limit), alertThresholds: [0.5, 0.8, 1] }),
    records: RecordsConfig.make({ ...defaultConfig.records, flushIntervalMs: HOUR })
  })

class Captured extends Effect.Service<Captured>()("test/BudgetReload/Captured", {
  effect: Ref.make<ReadonlyArray<GatewayEvent>>([])
}) {}

const testLayer = (initial: GatewayConfigData) => {
  const events = Layer.effect(
    Events,
    Effect.map(Captured, (ref) => Events.of({ publish: (e) => Ref.update(ref, (all) => [...all, e]), subscribe: Stream.empty }))
  )
  return CostTrackerModule.layer.pipe(
    Layer.provideMerge(AccountingMemory.layerOver(RecordStore.layerMemory)),
    Layer.provideMerge(layerReloadable(initial)),
    Layer.provideMerge(events),
    Layer.provideMerge(Captured.Default)
  )
}

let seq = 0
/** Commit `usd` spent on model a now. */
const spend = (usd: number) =>
  Effect.gen(function* () {
    const costs = yield* CostTracker
    const at = yield* TestClock.currentTimeMillis
    const held = yield* costs.reserve(a, undefined, fromUsd(usd))
    yield* costs.commit(
      held,
      CostRecord.make({ at, requestId: `r${++seq}`, model: "a", provider: "openai", promptTokens: 1, completionTokens: 1, cachedTokens: 0, costPicoUsd: fromUsd(usd), cacheHit: false })
    )
  })

/** What was announced: each threshold crossing as `limit@threshold`, each exhaustion as `spent@limit`. */
const announced = Effect.map(Effect.flatMap(Captured, Ref.get), (all) =>
  all.flatMap((e) =>
    e._tag === "BudgetThresholdCrossed" ? [`${e.limitUsd}@${e.threshold}`] : e._tag === "BudgetExceeded" ? [`spent@${e.limitUsd}`] : []
  ))

describe("CostTracker: reloads that change budgets", () => {
  it.scoped("reloads alone announce nothing again; a lowered limit refuses and is announced spent once", () =>
    Effect.gen(function* () {
      yield* TestClock.adjust(10 * HOUR)
      const files = yield* ConfigFiles
      const costs = yield* CostTracker
      yield* spend(0.6)
      for (let i = 0; i < 3; i++) yield* files.apply(withGlobal({ daily: 1 }))
      yield* spend(0.01)
      assert.deepStrictEqual(yield* announced, ["1@0.5"])
      yield* files.apply(withGlobal({ daily: 0.5 }))
      for (let i = 0; i < 3; i++) {
        const refused = yield* Effect.either(costs.reserve(a, undefined, fromUsd(0.01)))
        assert.isTrue(Either.isLeft(refused) && refused.left._tag === "BudgetExceeded")
        yield* files.apply(withGlobal({ daily: 0.5 }))
      }
      assert.deepStrictEqual(yield* announced, ["1@0.5", "spent@0.5"])
    }).pipe(Effect.provide(testLayer(withGlobal({ daily: 1 })))))

  it.scoped("a limit raised after it was spent: its thresholds and its exhaustion are announced when reached, once each", () =>
    Effect.gen(function* () {
      yield* TestClock.adjust(10 * HOUR)
      const files = yield* ConfigFiles
      yield* spend(0.5)
      yield* spend(0.3)
      yield* spend(0.2)
      assert.deepStrictEqual(yield* announced, ["1@0.5", "1@0.8", "1@1", "spent@1"])
      yield* files.apply(withGlobal({ daily: 4 }))
      yield* spend(1)
      yield* spend(1.2)
      yield* spend(0.8)
      assert.deepStrictEqual(yield* announced, ["1@0.5", "1@0.8", "1@1", "spent@1", "4@0.5", "4@0.8", "4@1", "spent@4"])
      // Back and forth between limits already announced: nothing again.
      yield* files.apply(withGlobal({ daily: 1 }))
      yield* files.apply(withGlobal({ daily: 4 }))
      assert.strictEqual((yield* announced).length, 8)
    }).pipe(Effect.provide(testLayer(withGlobal({ daily: 1 })))))

  it.scoped("the spend of the period survives a removed budget and a changed period", () =>
    Effect.gen(function* () {
      yield* TestClock.adjust(10 * HOUR)
      const files = yield* ConfigFiles
      const costs = yield* CostTracker
      yield* spend(0.7)
      yield* files.apply(withGlobal({}))
      yield* spend(0.2)
      yield* files.apply(withGlobal({ monthly: 1 }))
      const status = yield* costs.budgetStatus
      assert.deepStrictEqual(status.map((s) => [s.budget, s.period, s.spentPicoUsd]), [["global", "monthly", BigInt(fromUsd(0.9))]])
      const refused = yield* Effect.either(costs.reserve(a, undefined, fromUsd(0.2)))
      assert.isTrue(Either.isLeft(refused) && refused.left._tag === "BudgetExceeded")
    }).pipe(Effect.provide(testLayer(withGlobal({ daily: 1 })))))
})
