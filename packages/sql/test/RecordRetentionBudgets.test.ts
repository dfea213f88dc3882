/**
 * The shortest retention (`minRetentionDays`, 32) keeps what the budgets read
 * back: at the last instant of a 31-day month, a run leaves the month's cost
 * records (the first instant's included) and its announced alerts, so a cost
 * tracker started after it sees the month's spend and the alerts already
 * announced. On a SQLite file and on PostgreSQL.
 */
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { assert, layer } from "@effect/vitest"
import { CostStore } from "@modelgate/core/CostStore"
import * as CostTracker from "@modelgate/core/CostTracker"
import * as Events from "@modelgate/core/Events"
import * as GatewayConfig from "@modelgate/core/GatewayConfig"
import {
  BudgetLimit,
  BudgetsConfig,
  defaultConfig,
  GatewayConfigData,
  minRetentionDays,
  RecordsConfig
} from "@modelgate/core/GatewayConfigSchema"
import { RecordStore } from "@modelgate/core/RecordStore"
import { BudgetAlertRecord, CostRecord } from "@modelgate/domain/Records"
import * as RecordRetention from "@modelgate/sql/RecordRetention"
import * as CostStoreSql from "@modelgate/sql/CostStoreSql"
import * as RecordStoreSql from "@modelgate/sql/RecordStoreSql"
import * as TestPostgres from "@modelgate/testkit/TestPostgres"
import { Effect, Layer, Stream, TestClock } from "effect"
import { databases } from "./databases.js"

const monthStart = Date.UTC(2026, 0, 1)
const lastInstant = Date.UTC(2026, 1, 1) - 1

const cost = (at: number, costPicoUsd: number) =>
  CostRecord.make({ at, requestId: `r${at}`, model: "m1", provider: "openai", promptTokens: 1, completionTokens: 1, cachedTokens: 0, costPicoUsd, cacheHit: false })

const alert = (at: number, periodStart: number) =>
  BudgetAlertRecord.make({ at, budget: "global", period: "monthly", periodStart, threshold: 0.5, spentPicoUsd: 600_000_000_000, limitPicoUsd: 1_000_000_000_000n })

const config = GatewayConfig.layerStatic(
  new GatewayConfigData({
    ...defaultConfig,
    budgets: BudgetsConfig.make({ global: BudgetLimit.make({ monthly: 1 }) }),
    records: RecordsConfig.make({ retentionDays: minRetentionDays })
  })
)

const ats = (table: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ at: number | string }>`SELECT at FROM ${sql(table)} ORDER BY at`).pipe(
    Effect.map((rows) => rows.map((row) => Number(row.at)))
  )

layer(Layer.merge(TestPostgres.layer, NodeContext.layer), { timeout: 60_000 })("record retention and budgets", (it) => {
  for (const database of databases) {
    it.effect(`${database.name}: at the end of a 31-day month, a run at the shortest retention keeps the month's spend and alerts`, () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(lastInstant)
        const older = lastInstant - (minRetentionDays + 1) * 86_400_000
        const lastMonth = monthStart - 3_600_000
        yield* (yield* RecordStore).writeBatch([
          cost(older, 1),
          cost(lastMonth, 20),
          cost(monthStart, 300_000_000_000),
          cost(lastInstant - 1_000, 400_000_000_000),
          alert(older, Date.UTC(2025, 11, 1)),
          alert(monthStart + 5, monthStart)
        ])

        const retention = yield* RecordRetention.make()
        yield* retention.runs.changes.pipe(Stream.filter((n) => n >= 1), Stream.runHead)
        assert.deepStrictEqual(yield* ats("cost_records"), [lastMonth, monthStart, lastInstant - 1_000])
        assert.deepStrictEqual(yield* ats("budget_alerts"), [monthStart + 5])

        const alerts = yield* (yield* CostStore).alertsSince!(monthStart)
        assert.deepStrictEqual(alerts.map((a) => [a.budget, a.period, a.periodStart, a.threshold]), [["global", "monthly", monthStart, 0.5]])

        const tracker = yield* CostTracker.CostTracker.pipe(
          Effect.provide(CostTracker.layer.pipe(Layer.provide(RecordStoreSql.layerAccounting), Layer.provide(Events.layer)))
        )
        const status = (yield* tracker.budgetStatus).find((b) => b.budget === "global" && b.period === "monthly")
        assert.strictEqual(status?.periodStart, monthStart)
        assert.strictEqual(status?.spentPicoUsd, 700_000_000_000n)
      }).pipe(
        Effect.scoped,
        Effect.provide(Layer.mergeAll(RecordStoreSql.layer, CostStoreSql.layer, config).pipe(Layer.provideMerge(database.layer)))
      ))
  }
})
