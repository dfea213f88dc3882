/**
 * A gateway on a SQLite file restarted mid-period does not announce again the
 * thresholds its previous run announced, for a budget above ~$9,007 too (its
 * alert records hold the limit capped: records hold safe integers).
 */
import { assert, layer } from "@effect/vitest"
import { CostTracker } from "@modelgate/core/CostTracker"
import * as CostTrackerModule from "@modelgate/core/CostTracker"
import { Events } from "@modelgate/core/Events"
import * as GatewayConfig from "@modelgate/core/GatewayConfig"
import { BudgetLimit, BudgetsConfig, defaultConfig, GatewayConfigData } from "@modelgate/core/GatewayConfigSchema"
import { RecordWriter } from "@modelgate/core/RecordWriter"
import type { GatewayEvent } from "@modelgate/domain/Events"
import * as RecordStoreSql from "@modelgate/sql/RecordStoreSql"
import { spendOf } from "@modelgate/testkit/CostFixtures"
import { Effect, Layer, Ref, Stream, TestClock } from "effect"
import { servers, sqlite } from "./databases.js"

const HOUR = 3_600_000
const NOW = Date.UTC(2026, 2, 10, 10)

const config = GatewayConfig.layerStatic(
  new GatewayConfigData({ ...defaultConfig, budgets: BudgetsConfig.make({ ...defaultConfig.budgets, global: BudgetLimit.make({ daily: 10_000 }) }) })
)

layer(servers, { timeout: 60_000 })("budget alerts after a restart on SQLite", (it) => {
  it.scoped("a $10,000 budget: 50% and 80% announced before the restart are not announced again, 100% is", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW)
      const database = yield* sqlite.create
      /** One run of the gateway over the file: the thresholds it announced while spending `usd`, then flushed. */
      const run = (usd: ReadonlyArray<number>) =>
        Effect.gen(function* () {
          const seen = yield* Ref.make<ReadonlyArray<GatewayEvent>>([])
          const events = Layer.succeed(Events, Events.of({ publish: (e) => Ref.update(seen, (all) => [...all, e]), subscribe: Stream.empty }))
          const tracker = CostTrackerModule.layer.pipe(
            Layer.provideMerge(RecordStoreSql.layerAccounting),
            Layer.provide(Layer.mergeAll(events, config, database))
          )
          return yield* Effect.gen(function* () {
            const costs = yield* CostTracker
            for (const amount of usd) yield* costs.record(spendOf(amount, NOW))
            yield* (yield* RecordWriter).flush
            return (yield* Ref.get(seen)).flatMap((e) => (e._tag === "BudgetThresholdCrossed" ? [e.threshold] : []))
          }).pipe(Effect.provide(tracker), Effect.scoped)
        })

      assert.deepStrictEqual(yield* run([8_500]), [0.5, 0.8])
      yield* TestClock.adjust(HOUR)
      assert.deepStrictEqual(yield* run([100, 2_000]), [1])
    }).pipe(Effect.orDie))
})
