/**
 * `CostStoreSql.alertsSince` reads back the budget thresholds announced (the
 * stored `BudgetAlertRecord`s) from an instant on, as the memory store does:
 * a restarted tracker does not announce them again this period.
 */
import { assert, layer } from "@effect/vitest"
import { CostStore } from "@modelgate/core/CostStore"
import { RecordStore } from "@modelgate/core/RecordStore"
import { SqlClient } from "@effect/sql"
import { BudgetAlertRecord } from "@modelgate/domain/Records"
import * as CostStoreSql from "@modelgate/sql/CostStoreSql"
import * as RecordStoreSql from "@modelgate/sql/RecordStoreSql"
import { Effect, Layer } from "effect"
import { databases, servers } from "./databases.js"

const alert = (at: number, threshold: number) =>
  BudgetAlertRecord.make({ at, budget: "agentType:chat", period: "daily", periodStart: 86_400_000, threshold, spentPicoUsd: 900, limitPicoUsd: 1_000n })

layer(servers, { timeout: 60_000 })("CostStoreSql.alertsSince", (it) => {
  for (const database of databases) {
    const Stores = Layer.mergeAll(RecordStoreSql.layer, CostStoreSql.layer).pipe(Layer.provideMerge(database.layer))

    it.effect(`on ${database.name}: the alerts stored at or after the instant, with their budget, period, threshold and limit`, () =>
      Effect.gen(function* () {
        yield* (yield* RecordStore).writeBatch([alert(1_000, 0.5), alert(86_400_000, 0.5), alert(86_400_500, 0.8)])
        const alerts = yield* (yield* CostStore).alertsSince!(86_400_000)
        assert.deepStrictEqual(alerts, [
          { budget: "agentType:chat", period: "daily", periodStart: 86_400_000, threshold: 0.5, limitPicoUsd: 1_000n },
          { budget: "agentType:chat", period: "daily", periodStart: 86_400_000, threshold: 0.8, limitPicoUsd: 1_000n }
        ])
      }).pipe(Effect.provide(Stores)))

    it.effect(`on ${database.name}: an instant between two milliseconds selects the alerts from the next one on`, () =>
      Effect.gen(function* () {
        yield* (yield* RecordStore).writeBatch([alert(1_000, 0.5), alert(1_001, 0.8)])
        const alerts = yield* (yield* CostStore).alertsSince!(1_000.5)
        assert.deepStrictEqual(alerts.map((a) => a.threshold), [0.8])
      }).pipe(Effect.provide(Stores)))

    it.effect(`on ${database.name}: limits of $20,000 and $20,000,000 read back exact; a row written before exact limits, from its limit_pico`, () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        // as an earlier version wrote them: a $5 limit exact, a $20,000 one capped at 2^53 - 1
        for (const limit of [5_000_000_000_000n, 9_007_199_254_740_991n]) {
          yield* sql`INSERT INTO budget_alerts (at, budget, period, period_start, threshold, spent_pico, limit_pico)
                     VALUES (1000, 'global', 'daily', 0, 0.5, 1, ${limit})`
        }
        const big = [20_000_000_000_000_000n, 20_000_000_000_000_000_000n]
        yield* (yield* RecordStore).writeBatch(big.map((limitPicoUsd, i) => BudgetAlertRecord.make({ ...alert(2_000 + i, 0.5), limitPicoUsd })))
        const alerts = yield* (yield* CostStore).alertsSince!(0)
        assert.deepStrictEqual(alerts.map((a) => a.limitPicoUsd), [5_000_000_000_000n, 9_007_199_254_740_991n, ...big])
      }).pipe(Effect.provide(Stores)))
  }
})
