/**
 * What only PostgreSQL shows: its migration (run again, and run by two
 * gateways at once), a retried record batch, money sums past 64 bits, and
 * the error of a database that cannot be reached. The stores' behaviour on
 * both databases is in the store test files.
 */
import { SqlClient } from "@effect/sql"
import { assert, describe, layer } from "@effect/vitest"
import { CostStore } from "@modelgate/core/CostStore"
import { MetricsStore } from "@modelgate/core/MetricsStore"
import { RecordStore } from "@modelgate/core/RecordStore"
import { CostRecord } from "@modelgate/domain/Records"
import * as CostStoreSql from "@modelgate/sql/CostStoreSql"
import * as MetricsStoreSql from "@modelgate/sql/MetricsStoreSql"
import * as Postgres from "@modelgate/sql/Postgres"
import * as RecordStoreSql from "@modelgate/sql/RecordStoreSql"
import * as TestPostgres from "@modelgate/testkit/TestPostgres"
import { Effect, Layer, Redacted, TestServices } from "effect"
import { postgres, servers } from "./databases.js"
import { cost, count } from "./recordFixtures.js"

/** The applied migrations, newest last. */
const applied = Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ migration_id: number }>`SELECT migration_id FROM effect_sql_migrations ORDER BY migration_id`).pipe(
  Effect.map((rows) => rows.map((r) => r.migration_id))
)

/** The ids of every shipped PostgreSQL migration, in order. */
const shipped = Effect.map(Postgres.loader, (all) => all.map(([id]) => id))

/** Build `database` in a scope of its own and run `f` on it. */
const on = <A, E, E2, R>(database: Layer.Layer<SqlClient.SqlClient, E, R>, f: Effect.Effect<A, E2, SqlClient.SqlClient>) =>
  Effect.scoped(Effect.flatMap(Layer.build(database), (context) => Effect.provide(f, context)))

layer(servers, { timeout: 60_000 })("PostgreSQL", (it) => {
  describe("migration", () => {
    it.scoped("is idempotent: opening a migrated database again succeeds and keeps its data and migrations", () =>
      Effect.gen(function* () {
        const database = yield* postgres.create
        yield* on(database, Effect.flatMap(RecordStore, (s) => s.writeBatch([cost(1)])).pipe(Effect.provide(RecordStoreSql.layerMain)))
        const again = yield* on(database, Effect.all([applied, count("cost_records")]))
        assert.deepStrictEqual(again, [yield* shipped, 1])
      }))

    it.scoped("two gateways migrating one empty database at once both open it, at the newest migration", () =>
      Effect.gen(function* () {
        const { maxConnections, url } = yield* TestPostgres.fresh
        const open = Postgres.layer({ url, maxConnections })
        // Two pools on one database. On PGlite the socket server keeps a transaction's connection to itself
        // until COMMIT, so the race shown there is the one outside transactions: both create the
        // migrator's bookkeeping table (without `migrateFully`'s retry, one gateway fails to open).
        // On the real clock: the losing gateway waits 50 ms between its tries.
        const [a, b] = yield* TestServices.provideLive(Effect.all([on(open, applied), on(open, applied)], { concurrency: 2 }))
        const newest = yield* shipped
        assert.deepStrictEqual([a, b], [newest, newest])
        const tables = yield* on(open, count("cost_records"))
        assert.strictEqual(tables, 0)
      }))
  })

  describe("records", () => {
    const Stores = Layer.mergeAll(RecordStoreSql.layerMain, CostStoreSql.layer, MetricsStoreSql.layer).pipe(Layer.provideMerge(postgres.layer))

    it.effect("a batch retried after its COMMIT landed is written once; another batch with the same records is written again", () =>
      Effect.gen(function* () {
        const store = yield* RecordStore
        const batch = [cost(1), cost(2), cost(3)]
        yield* store.writeBatch(batch)
        yield* store.writeBatch(batch)
        assert.strictEqual(yield* count("cost_records"), 3)
        yield* store.writeBatch([...batch])
        assert.strictEqual(yield* count("cost_records"), 6)
        assert.strictEqual(yield* count("record_batches"), 2)
      }).pipe(Effect.provide(Stores)))

    it.effect("money sums beyond SQLite's 64-bit range stay exact", () =>
      Effect.gen(function* () {
        const each = Number.MAX_SAFE_INTEGER
        const records = Array.from({ length: 1_100 }, (_, i) =>
          CostRecord.make({ at: i, requestId: `r${i}`, model: "a", provider: "p", promptTokens: 1, completionTokens: 0, cachedTokens: 0, costPicoUsd: each, cacheHit: false })
        )
        yield* (yield* RecordStore).writeBatch(records)
        const expected = BigInt(each) * 1_100n
        assert.isAbove(Number(expected), 2 ** 63)
        const [total] = yield* (yield* CostStore).costs({ groupBy: "model" })
        assert.strictEqual(total?.costPicoUsd, expected)
        const metrics = yield* (yield* MetricsStore).aggregate({})
        assert.strictEqual(metrics.get("a")?.costPicoUsd, expected)
      }).pipe(Effect.provide(Stores)))
  })

  describe("a database that cannot be reached", () => {
    it.effect("fails the layer with a StoreError naming its host, port and MODELGATE_DATABASE_URL, without the password", () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(
          Layer.build(Postgres.layer({ url: Redacted.make("postgres://u:hunter2@127.0.0.1:1/db"), connectTimeout: "2 seconds" })).pipe(Effect.scoped)
        )
        assert.strictEqual(error._tag, "StoreError")
        assert.include(error.message, "127.0.0.1:1")
        assert.include(error.message, "MODELGATE_DATABASE_URL")
        assert.notInclude(error.message, "hunter2")
        assert.notInclude(JSON.stringify(error), "hunter2")
      }))
  })
})
