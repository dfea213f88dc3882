/**
 * `BudgetThresholdCrossed` is published once per period: a gateway restarted
 * mid-period (its tracker seeded from the store) does not announce again the
 * thresholds the previous run announced and recorded, and still announces
 * those not reached yet; for limits of thousands of dollars too, whose
 * alert records hold them exact: a limit changed across the restart has its
 * own thresholds announced.
 */
import { assert, describe, it } from "@effect/vitest"
import type { GatewayEvent } from "@modelgate/domain/Events"
import { Effect, Layer, Ref, Stream, TestClock } from "effect"
import { CostTracker } from "@modelgate/core/CostTracker"
import * as CostTrackerModule from "@modelgate/core/CostTracker"
import { Events } from "@modelgate/core/Events"
import * as GatewayConfig from "@modelgate/core/GatewayConfig"
import { BudgetLimit, BudgetsConfig, defaultConfig, GatewayConfigData } from "@modelgate/core/GatewayConfigSchema"
import * as RecordStore from "@modelgate/core/RecordStore"
import { RecordWriter } from "@modelgate/core/RecordWriter"
import * as AccountingMemory from "@modelgate/core/RecordWriter/Memory"
import { spendOf } from "@modelgate/testkit/CostFixtures"

const HOUR = 3_600_000

/** A global daily budget of `daily` USD. */
const withDaily = (daily: number) =>
  new GatewayConfigData({
    ...defaultConfig,
    budgets: BudgetsConfig.make({ ...defaultConfig.budgets, global: BudgetLimit.make({ daily }) })
  })

/** One run of the tracker over `store`: `run` gets what it published. */
const run = <A>(config: GatewayConfigData, store: Layer.Layer<RecordStore.RecordStore | RecordStore.MemoryRecordStore>, body: (published: Effect.Effect<ReadonlyArray<GatewayEvent>>) => Effect.Effect<A, never, CostTracker | RecordWriter>) =>
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
  for (const daily of [1, 10_000]) {
    it.scoped(`thresholds of a $${daily} budget announced before a restart in the same period are not announced again`, () =>
      Effect.gen(function* () {
        const config = withDaily(daily)
        yield* TestClock.setTime(10 * HOUR)
        const store = Layer.succeedContext(yield* RecordStore.makeMemory())
        // the first run reaches 85%: 0.5 and 0.8 announced (and recorded)
        const first = yield* run(config, store, (published) =>
          Effect.gen(function* () {
            const costs = yield* CostTracker
            yield* costs.record(spendOf(0.85 * daily, 10 * HOUR))
            yield* (yield* RecordWriter).flush
            return budgetEvents(yield* published)
          }))
        assert.deepStrictEqual(first, ["crossed 0.5", "crossed 0.8"])

        // restarted an hour later, same UTC day: more spend announces only what is new
        yield* TestClock.adjust(HOUR)
        const second = yield* run(config, store, (published) =>
          Effect.gen(function* () {
            const costs = yield* CostTracker
            yield* costs.record(spendOf(0.01 * daily, 11 * HOUR))
            const small = budgetEvents(yield* published)
            yield* costs.record(spendOf(0.2 * daily, 11 * HOUR))
            return [small, budgetEvents(yield* published)]
          }))
        assert.deepStrictEqual(second, [[], ["crossed 1", "exceeded"]])
      }))
  }

  it.scoped("a limit of $20,000 changed to $30,000 across a restart: 50% of $30,000 is announced; kept at $20,000: not again", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(10 * HOUR)
      /** Two runs over one store, $20,000 then `second`: the thresholds each announced ($11,000 spent, then $5,000 more). */
      const restartWith = (second: number) =>
        Effect.gen(function* () {
          const store = Layer.succeedContext(yield* RecordStore.makeMemory())
          const spending = (usd: number) => (published: Effect.Effect<ReadonlyArray<GatewayEvent>>) =>
            Effect.gen(function* () {
              // in records of at most $5,000 (a cost record holds up to ~$9,007)
              for (let left = usd; left > 0; left -= 5_000) yield* (yield* CostTracker).record(spendOf(Math.min(left, 5_000), 10 * HOUR))
              yield* (yield* RecordWriter).flush
              return budgetEvents(yield* published)
            })
          return [yield* run(withDaily(20_000), store, spending(11_000)), yield* run(withDaily(second), store, spending(5_000))]
        })
      // $16,000 of $30,000 is 53%: its 50% was never announced (the 50% announced was of $20,000)
      assert.deepStrictEqual(yield* restartWith(30_000), [["crossed 0.5"], ["crossed 0.5"]])
      // $16,000 of $20,000 is 80%: 50% was announced at this limit before the restart
      assert.deepStrictEqual(yield* restartWith(20_000), [["crossed 0.5"], ["crossed 0.8"]])
    }))
})
