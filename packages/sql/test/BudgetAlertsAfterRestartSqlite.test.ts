/**
 * A gateway on a SQLite file restarted mid-period does not announce again the
 * thresholds its previous run announced, for a budget of thousands of dollars
 * too; its alert records hold the limit exact, so a limit changed across the
 * restart has its own thresholds announced. A row recorded before limits were
 * kept exact (one above ~$9,007 held capped) still counts for the limit now.
 */
import { assert, layer } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
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
import type { StoreError } from "@modelgate/domain/Errors"
import { type OpenNeeds, servers, sqlite } from "./databases.js"

const HOUR = 3_600_000
const NOW = Date.UTC(2026, 2, 10, 10)
const DAY_START = Date.UTC(2026, 2, 10)

/** A global daily budget of `daily` USD. */
const withDaily = (daily: number) =>
  GatewayConfig.layerStatic(
    new GatewayConfigData({ ...defaultConfig, budgets: BudgetsConfig.make({ ...defaultConfig.budgets, global: BudgetLimit.make({ daily }) }) })
  )

layer(servers, { timeout: 60_000 })("budget alerts after a restart on SQLite", (it) => {
  /** One run of the gateway over `database` with a daily budget of `daily` USD: the thresholds it announced while spending `usd`, then flushed. */
  const run = (database: Layer.Layer<SqlClient.SqlClient, StoreError, OpenNeeds>, daily: number, usd: ReadonlyArray<number>) =>
    Effect.gen(function* () {
      const seen = yield* Ref.make<ReadonlyArray<GatewayEvent>>([])
      const events = Layer.succeed(Events, Events.of({ publish: (e) => Ref.update(seen, (all) => [...all, e]), subscribe: Stream.empty }))
      const tracker = CostTrackerModule.layer.pipe(
        Layer.provideMerge(RecordStoreSql.layerAccounting),
        Layer.provide(Layer.mergeAll(events, withDaily(daily), database))
      )
      return yield* Effect.gen(function* () {
        const costs = yield* CostTracker
        for (const amount of usd) yield* costs.record(spendOf(amount, NOW))
        yield* (yield* RecordWriter).flush
        return (yield* Ref.get(seen)).flatMap((e) => (e._tag === "BudgetThresholdCrossed" ? [e.threshold] : []))
      }).pipe(Effect.provide(tracker), Effect.scoped)
    })

  it.scoped("a $10,000 budget: 50% and 80% announced before the restart are not announced again, 100% is", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW)
      const database = yield* sqlite.create
      assert.deepStrictEqual(yield* run(database, 10_000, [5_000, 3_500]), [0.5, 0.8])
      yield* TestClock.adjust(HOUR)
      assert.deepStrictEqual(yield* run(database, 10_000, [100, 2_000]), [1])
    }).pipe(Effect.orDie), 120_000)

  /** $11,000 spent under a $20,000 limit, restarted with `second`, $5,000 more: what each run announced. */
  const restartWith = (second: number) =>
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW)
      const database = yield* sqlite.create
      return [yield* run(database, 20_000, [5_000, 6_000]), yield* run(database, second, [5_000])]
    }).pipe(Effect.orDie)

  it.scoped("$20,000 changed to $30,000 across a restart: 50% of $30,000 is announced", () =>
    Effect.gen(function* () {
      // $16,000 of $30,000 is 53%: its 50% was never announced (the 50% announced was of $20,000)
      assert.deepStrictEqual(yield* restartWith(30_000), [[0.5], [0.5]])
    }), 120_000)

  it.scoped("$20,000 kept across a restart: its 50% is not announced again", () =>
    Effect.gen(function* () {
      // $16,000 of $20,000 is 80%: 50% was announced at this limit before the restart
      assert.deepStrictEqual(yield* restartWith(20_000), [[0.5], [0.8]])
    }), 120_000)

  it.scoped("an alert recorded before limits were exact (a $20,000 limit held capped at ~$9,007) counts for the limit above ~$9,007 now", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW)
      const database = yield* sqlite.create
      // as an earlier version recorded 50% of $20,000 (and 50% of a $1 budget of an agent type): no exact column
      yield* Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* sql`INSERT INTO budget_alerts (at, budget, period, period_start, threshold, spent_pico, limit_pico)
                   VALUES (${NOW - HOUR}, 'global', 'daily', ${DAY_START}, 0.5, 9007199254740991, 9007199254740991)`
      }).pipe(Effect.provide(database), Effect.scoped)
      // $16,000 of $20,000: 50% was announced by the earlier version, 80% was not
      assert.deepStrictEqual(yield* run(database, 20_000, [5_000, 5_000, 6_000]), [0.8])
    }).pipe(Effect.orDie), 120_000)
})
