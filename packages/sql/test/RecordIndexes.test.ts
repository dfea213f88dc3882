/**
 * The record tables' indexes against the queries that read them: every query
 * the SQL cost and metrics stores build (every filter combination and
 * grouping) goes through EXPLAIN QUERY PLAN. Each filtered query is served by
 * an index, and each index of a table they read serves some query: an index
 * no query uses only costs writes (migration 0005 dropped those).
 */
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import { CostStore, type CostQuery } from "@modelgate/core/CostStore"
import type { MetricsFilter } from "@modelgate/core/Metrics/Snapshot"
import { MetricsStore } from "@modelgate/core/MetricsStore"
import * as CostStoreSql from "@modelgate/sql/CostStoreSql"
import * as MetricsStoreSql from "@modelgate/sql/MetricsStoreSql"
import * as Sqlite from "@modelgate/sql/Sqlite"
import { Effect, Layer } from "effect"
import { queryPlan, statementsOf } from "./queryPlans.js"

const subsets = <A>(xs: ReadonlyArray<A>): ReadonlyArray<ReadonlyArray<A>> =>
  xs.reduce<ReadonlyArray<ReadonlyArray<A>>>((acc, x) => acc.flatMap((s) => [s, [...s, x]]), [[]])

const filterValue = (key: string) => (key === "from" || key === "to" ? 1_000 : "x")

const metricsFilters: ReadonlyArray<MetricsFilter> = subsets(["from", "to", "model", "provider", "agentType"] as const).map(
  (keys) => Object.fromEntries(keys.map((k) => [k, filterValue(k)])) as MetricsFilter
)
const costQueries: ReadonlyArray<CostQuery> = subsets(["from", "to", "model", "provider", "agentType", "apiKeyId"] as const).flatMap(
  (keys) =>
    (["none", "day", "month", "model", "provider", "agentType", "apiKeyId"] as const).map(
      (groupBy): CostQuery => ({ ...(Object.fromEntries(keys.map((k) => [k, filterValue(k)])) as CostQuery), groupBy })
    )
)

const stores = Layer.mergeAll(CostStoreSql.layer, MetricsStoreSql.layer).pipe(
  Layer.provideMerge(Sqlite.layer(":memory:")),
  Layer.provide(NodeContext.layer)
)

describe("record table indexes", () => {
  it.scoped("every filtered query of the cost and metrics stores uses an index, and every index of the tables they read is used", () =>
    Effect.gen(function* () {
      const costs = yield* CostStore
      const metrics = yield* MetricsStore
      const sql = yield* SqlClient.SqlClient

      // The statements the stores run, as compiled.
      const statements = yield* statementsOf(
        Effect.all([Effect.forEach(metricsFilters, metrics.aggregate), Effect.forEach(costQueries, costs.costs)])
      )
      assert.isAbove(statements.size, 500)

      const used = new Set<string>()
      const read = new Set<string>()
      for (const [text, params] of statements) {
        const details = yield* queryPlan(text, params)
        const indexes = details.flatMap((d) => d.match(/USING (?:COVERING )?INDEX (\w+)/)?.[1] ?? [])
        for (const index of indexes) used.add(index)
        for (const table of text.match(/FROM (\w+)/g) ?? []) read.add(table.slice(5))
        if (/\bWHERE\b/.test(text) && /\?/.test(text)) {
          assert.isNotEmpty(indexes, `a filtered query without an index: ${text.replace(/\s+/g, " ")} -> ${details.join(" | ")}`)
        }
      }

      assert.sameMembers([...read], ["cost_records", "performance_records", "failover_events", "health_checks"])
      const indexes = yield* sql<{ name: string; table: string }>`
        SELECT name, tbl_name AS "table" FROM sqlite_master
        WHERE type = 'index' AND name NOT LIKE 'sqlite_%' AND tbl_name IN ${sql.in([...read])}`
      for (const { name, table } of indexes) assert.isTrue(used.has(name), `index ${name} of ${table} serves no query`)
      assert.isAbove(indexes.length, 10)

      // Nothing reads quality_scores by model and task, or cost records by request id: those indexes are gone
      // (migration 0005; `quality_scores_at` came back in 0009 for the retention's deletes).
      const dropped = yield* sql<{ name: string }>`
        SELECT name FROM sqlite_master WHERE type = 'index' AND name IN ('quality_scores_model_task_at', 'cost_records_request')`
      assert.deepStrictEqual(dropped, [])
    }).pipe(Effect.provide(stores)))
})
