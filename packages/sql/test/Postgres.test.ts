import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { assert, layer } from "@effect/vitest"
import { CostStore } from "@modelgate/core/CostStore"
import { RecordStore } from "@modelgate/core/RecordStore"
import * as CostStoreSql from "@modelgate/sql/CostStoreSql"
import * as RecordStoreSql from "@modelgate/sql/RecordStoreSql"
import * as TestPostgres from "@modelgate/testkit/TestPostgres"
import { Effect, Layer } from "effect"
import { postgres } from "./databases.js"
import { cost } from "./recordFixtures.js"

const Stores = Layer.mergeAll(RecordStoreSql.layer, CostStoreSql.layer).pipe(Layer.provideMerge(postgres.layer))

layer(Layer.merge(TestPostgres.layer, NodeContext.layer), { timeout: 60_000 })("PostgreSQL stores", (it) => {
  it.effect("records written are summed by day", () =>
    Effect.gen(function* () {
      yield* (yield* RecordStore).writeBatch([cost(1), cost(2)])
      const groups = yield* (yield* CostStore).costs({ groupBy: "day" })
      assert.deepStrictEqual(groups.map((g) => [g.key, g.requests, g.costPicoUsd]), [["1970-01-01", 2, 2_000_003n]])
      const sql = yield* SqlClient.SqlClient
      const tables = yield* sql<{ n: string }>`SELECT COUNT(*) AS n FROM record_batches`
      assert.strictEqual(tables[0]?.n, "1")
    }).pipe(Effect.provide(Stores)))
})
