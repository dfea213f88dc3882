/**
 * `BudgetThresholdCrossed` is published once per period: a gateway restarted
 * mid-period (its tracker seeded from the store) does not announce again the
 * thresholds the previous run announced and recorded, and still announces
 * those not reached yet.
 */
import { assert, describe, it } from "@effect/vitest"
import type { GatewayEvent } from "@modelgate/domain/Events"
import { fromUsd } from "@modelgate/domain/Money"
import { CostRecord } from "@modelgate/domain/Records"
import { Effect, Layer, Ref, Stream, TestClock } from "effect"
import { CostTracker } from "@modelgate/core/CostTracker"
import * as CostTrackerModule from "@modelgate/core/CostTracker"
import { Events } from "@modelgate/core/Events"
import * as GatewayConfig from "@modelgate/core/GatewayConfig"
import { BudgetLimit, BudgetsConfig, defaultConfig, GatewayConfigData } from "@modelgate/core/GatewayConfigSchema"
import * as RecordStore from "@modelgate/core/RecordStore"
import { RecordWriter } from "@modelgate/core/RecordWriter"
import * as AccountingMemory from "@modelgate/core/RecordWriter/Memory"

const HOUR = 3_600_000

let seq = 0
const spend = (usd: number, at: number) =>
  CostRecord.make({
    at,
    requestId: `r${++seq}`,
    model: "a",
    provider: "openai",
    promptTokens: 1,
    completionTokens: 1,
    cachedTokens: 0,
    costPicoUsd: fromUsd(usd),
    cacheHit: false
  })

const config = new GatewayConfigData({
  ...defaultConfig,
  budgets: BudgetsConfig.make({ ...defaultConfig.budgets, global: BudgetLimit.make({ daily: 1 }) })
})

/** One run of the tracker over `store`: `run` gets what it published. */
const run = <A>(store: Layer.Layer<RecordStore.RecordStore | RecordStore.MemoryRecordStore>, body: (published: Effect.Effect<ReadonlyArray<GatewayEvent>>) => Effect.Effect<A, never, CostTracker | RecordWriter>) =>
  Effect.gen(function* () {
    const seen = yield* Ref.make<ReadonlyArray<GatewayEvent>>([])
    const events = Layer.succeed(Events, Events.of({ publish: (e) => Ref.update(seen, (all) => [...all, e]), subscribe: Stream.empty }))
    const layer = CostTrackerModule.layer.pipe(
      Layer.provideMerge(AccountingMemory.layerOver(store)),
      Layer.provide(events),
      Layer.provide(GatewayConfig.layerStatic(config))
    )
    return yield* Effect.scoped(Effect.provide(body(Ref.get(seen)), layer))
  })

const budgetEvents = (all: ReadonlyArray<GatewayEvent>) =>
  all.flatMap((e) =>
    e._tag === "BudgetThresholdCrossed" ? [`crossed ${e.threshold}`] : e._tag === "BudgetExceeded" ? ["exceeded"] : []
  )

describe("Budget alerts after a restart", () => {
  it.scoped("thresholds announced before a restart in the same period are not announced again", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(10 * HOUR)
      const store = Layer.succeedContext(yield* RecordStore.makeMemory())
      // the first run reaches 85%: 0.5 and 0.8 announced (and recorded)
      const first = yield* run(store, (published) =>
        Effect.gen(function* () {
          const costs = yield* CostTracker
          yield* costs.record(spend(0.85, 10 * HOUR))
          yield* (yield* RecordWriter).flush
          return budgetEvents(yield* published)
        }))
      assert.deepStrictEqual(first, ["crossed 0.5", "crossed 0.8"])

      // restarted an hour later, same UTC day: more spend announces only what is new
      yield* TestClock.adjust(HOUR)
      const second = yield* run(store, (published) =>
        Effect.gen(function* () {
          const costs = yield* CostTracker
          yield* costs.record(spend(0.01, 11 * HOUR))
          const small = budgetEvents(yield* published)
          yield* costs.record(spend(0.2, 11 * HOUR))
          return [small, budgetEvents(yield* published)]
        }))
      assert.deepStrictEqual(second, [[], ["crossed 1", "exceeded"]])
    }))
})
