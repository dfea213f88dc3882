/**
 * A database file written by an older version (migrations 0001-0003 only,
 * with cost records and cached responses in it): `Sqlite.layer` applies the
 * newer migrations, keeps the data (a cost record of then reads 0 cache
 * writes and reasoning tokens, its tokens and cost as stored), and the record
 * worker writes on it; a second open applies nothing.
 */
import { NodeContext } from "@effect/platform-node"
import { Migrator, SqlClient } from "@effect/sql"
import { SqliteClient, SqliteMigrator } from "@effect/sql-sqlite-node"
import { assert, describe, it } from "@effect/vitest"
import * as RecordStoreSql from "@modelgate/sql/RecordStoreSql"
import { RecordStore } from "@modelgate/core/RecordStore"
import models from "@modelgate/sql/migrations/0001_models"
import records from "@modelgate/sql/migrations/0002_records"
import cache from "@modelgate/sql/migrations/0003_cache"
import { loader } from "@modelgate/sql/Migrations"
import * as Sqlite from "@modelgate/sql/Sqlite"
import { Effect, Layer } from "effect"
import { cost, count, tempFile } from "./recordFixtures.js"

const oldLoader = Migrator.fromRecord({ "0001_models": models, "0002_records": records, "0003_cache": cache })

describe("migrations on a database of an older version", () => {
  it.scoped("apply the newer ones, keep the data, and the stores write on it", () =>
    Effect.gen(function* () {
      const file = yield* tempFile
      yield* Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* SqliteMigrator.run({ loader: oldLoader })
        yield* sql`INSERT INTO cost_records (at, request_id, model, provider, prompt_tokens, completion_tokens, cached_tokens, cost_pico, cache_hit)
                   VALUES (1, 'old-1', 'm', 'openai', 1, 1, 0, 42, 0)`
      }).pipe(Effect.provide(SqliteClient.layer({ filename: file })), Effect.provide(NodeContext.layer), Effect.scoped)

      const opened = Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const store = yield* RecordStore
        yield* store.writeBatch([cost(1), cost(2)])
        const ids = yield* sql<{ migration_id: number }>`SELECT migration_id FROM effect_sql_migrations ORDER BY migration_id`
        const indexes = yield* sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'cost_records_request'`
        const old = yield* sql`SELECT prompt_tokens, completion_tokens, cost_pico, cache_write_tokens, reasoning_tokens FROM cost_records WHERE request_id = 'old-1'`
        return { ids: ids.map((r) => Number(r.migration_id)), indexes: indexes.length, costs: yield* count("cost_records"), old }
      }).pipe(Effect.provide(RecordStoreSql.layer.pipe(Layer.provideMerge(Sqlite.layer(file)))), Effect.scoped)

      const ids = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]
      const old = [{ prompt_tokens: 1, completion_tokens: 1, cost_pico: 42, cache_write_tokens: 0, reasoning_tokens: 0 }]
      assert.deepStrictEqual(yield* opened, { ids, indexes: 0, costs: 3, old })
      // a second open applies nothing and keeps everything
      assert.deepStrictEqual(yield* opened, { ids, indexes: 0, costs: 5, old })
      const again = yield* SqliteMigrator.run({ loader }).pipe(
        Effect.provide(SqliteClient.layer({ filename: file })),
        Effect.provide(NodeContext.layer),
        Effect.scoped
      )
      assert.deepStrictEqual(again, [])
    }).pipe(Effect.provide(NodeContext.layer)))
})
