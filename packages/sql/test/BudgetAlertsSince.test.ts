/**
 * `CostStoreSql.alertsSince` reads back the budget thresholds announced (the
 * stored `BudgetAlertRecord`s) from an instant on, as the memory store does:
 * a restarted tracker does not announce them again this period.
 */
import { assert, layer } from "@effect/vitest"
import { CostStore } from "@modelgate/core/CostStore"
import { RecordStore } from "@modelgate/core/RecordStore"
import { BudgetAlertRecord } from "@modelgate/domain/Records"
import * as CostStoreSql from "@modelgate/sql/CostStoreSql"
import * as RecordStoreSql from "@modelgate/sql/RecordStoreSql"
import { Effect, Layer } from "effect"
import { databases, servers } from "./databases.js"

const alert = (at: number, threshold: number) =>
  BudgetAlertRecord.make({ at, budget: "agentType:chat", period: "daily", periodStart: 86_400_000, threshold, spentPicoUsd: 900, limitPicoUsd: 1_000 })

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
  }
})
