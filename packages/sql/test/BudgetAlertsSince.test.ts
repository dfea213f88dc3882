/**
 * `CostStoreSql.alertsSince` reads back the budget thresholds announced (the
 * stored `BudgetAlertRecord`s) from an instant on, as the memory store does:
 * a restarted tracker does not announce them again this period.
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { CostStore } from "@modelgate/core/CostStore"
import { RecordStore } from "@modelgate/core/RecordStore"
import { BudgetAlertRecord } from "@modelgate/domain/Records"
import * as CostStoreSql from "@modelgate/sql/CostStoreSql"
import * as RecordStoreSql from "@modelgate/sql/RecordStoreSql"
import * as Sqlite from "@modelgate/sql/Sqlite"
import { Effect, Layer } from "effect"

const Stores = Layer.unwrapScoped(
  Effect.gen(function* () {
    const dir = yield* (yield* FileSystem.FileSystem).makeTempDirectoryScoped({ prefix: "modelgate-alerts-" })
    return Layer.mergeAll(RecordStoreSql.layer, CostStoreSql.layer).pipe(Layer.provideMerge(Sqlite.layer(`${dir}/alerts.db`)))
  })
).pipe(Layer.provide(NodeContext.layer))

const alert = (at: number, threshold: number) =>
  BudgetAlertRecord.make({ at, budget: "agentType:chat", period: "daily", periodStart: 86_400_000, threshold, spentPicoUsd: 900, limitPicoUsd: 1_000 })

describe("CostStoreSql.alertsSince", () => {
  it.effect("the alerts stored at or after the instant, with their budget, period, threshold and limit", () =>
    Effect.gen(function* () {
      yield* (yield* RecordStore).writeBatch([alert(1_000, 0.5), alert(86_400_000, 0.5), alert(86_400_500, 0.8)])
      const alerts = yield* (yield* CostStore).alertsSince!(86_400_000)
      assert.deepStrictEqual(alerts, [
        { budget: "agentType:chat", period: "daily", periodStart: 86_400_000, threshold: 0.5, limitPicoUsd: 1_000n },
        { budget: "agentType:chat", period: "daily", periodStart: 86_400_000, threshold: 0.8, limitPicoUsd: 1_000n }
      ])
    }).pipe(Effect.provide(Stores)))
})
