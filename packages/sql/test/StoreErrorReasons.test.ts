/**
 * A store query that fails says why in the driver's words, on both
 * databases: the `StoreError` names the operation and the database's reason
 * (the missing table), not only "Failed to execute statement".
 */
import { SqlClient } from "@effect/sql"
import { assert, layer } from "@effect/vitest"
import { CostStore } from "@modelgate/core/CostStore"
import { MetricsStore } from "@modelgate/core/MetricsStore"
import { ModelStore } from "@modelgate/core/ModelStore"
import * as CostStoreSql from "@modelgate/sql/CostStoreSql"
import * as MetricsStoreSql from "@modelgate/sql/MetricsStoreSql"
import * as ModelStoreSql from "@modelgate/sql/ModelStoreSql"
import { Effect, Layer } from "effect"
import { databases, servers } from "./databases.js"

layer(servers, { timeout: 60_000 })("store errors carry the database's reason", (it) => {
  for (const database of databases) {
    it.scoped(`on ${database.name}`, () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* sql`DROP TABLE cost_records`
        yield* sql`DROP TABLE model_overrides`
        const costs = yield* Effect.flip((yield* CostStore).costs({ groupBy: "model" }))
        assert.strictEqual(costs.operation, "costs.query")
        assert.include(costs.reason, "cost_records")
        const metrics = yield* Effect.flip((yield* MetricsStore).aggregate({}))
        assert.include(metrics.reason, "cost_records")
        const models = yield* Effect.flip((yield* ModelStore).list)
        assert.include(models.reason, "model_overrides")
      }).pipe(Effect.provide(Layer.mergeAll(CostStoreSql.layer, MetricsStoreSql.layer, ModelStoreSql.layer).pipe(Layer.provideMerge(database.layer)))))
  }
})
