/**
 * The record retention's deletes go through each record table's index on
 * `at` (migration 0009 adds `quality_scores_at`) and the primary key, never a
 * scan of the table: EXPLAIN QUERY PLAN over the statements a run executes on
 * SQLite. Without the index every chunk would read the whole table.
 */
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import * as GatewayConfig from "@modelgate/core/GatewayConfig"
import { defaultConfig, GatewayConfigData, RecordsConfig } from "@modelgate/core/GatewayConfigSchema"
import * as RecordRetention from "@modelgate/sql/RecordRetention"
import * as Sqlite from "@modelgate/sql/Sqlite"
import { Effect, Layer, TestClock } from "effect"
import { queryPlan, statementsOf } from "./queryPlans.js"

const database = Layer.mergeAll(
  Sqlite.layer(":memory:"),
  GatewayConfig.layerStatic(new GatewayConfigData({ ...defaultConfig, records: RecordsConfig.make({ retentionDays: 40 }) }))
).pipe(Layer.provide(NodeContext.layer))

describe("record retention indexes", () => {
  it.scoped("each table's delete finds its rows through the table's index on at", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(Date.UTC(2026, 5, 15))
      const retention = yield* RecordRetention.make({ thread: "main", every: "100 days" })
      const statements = [...(yield* statementsOf(retention.run))].filter(([text]) => /^\s*DELETE/i.test(text))
      assert.strictEqual(statements.length, 7)

      const indexes = new Map<string, string>()
      for (const [text, params] of statements) {
        const table = /^\s*DELETE FROM "?(\w+)"?/i.exec(text)?.[1] ?? "?"
        const details = (yield* queryPlan(text, params)).join(" | ")
        assert.notMatch(details, /\bSCAN\b/, `a delete that scans ${table}: ${details}`)
        indexes.set(table, /SEARCH \w+ USING (?:COVERING )?INDEX (\w+) \(at<\?\)/.exec(details)?.[1] ?? details)
      }
      assert.deepStrictEqual(Object.fromEntries(indexes), {
        cost_records: "cost_records_at",
        performance_records: "performance_records_at",
        health_checks: "health_checks_at",
        rate_limit_events: "rate_limit_events_at",
        failover_events: "failover_events_at",
        quality_scores: "quality_scores_at",
        budget_alerts: "budget_alerts_at"
      })
    }).pipe(Effect.provide(database)))
})
