/**
 * Two processes opening one new database at once: while another connection
 * holds the migration (its bookkeeping rows written, its transaction open),
 * `Sqlite.layer` waits for it to commit instead of taking @effect/sql's
 * "already running" for done and starting on tables that do not exist yet.
 */
import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import { loader } from "@modelgate/sql/Migrations"
import * as Sqlite from "@modelgate/sql/Sqlite"
import Database from "better-sqlite3"
import { Effect, Fiber, TestClock } from "effect"

describe("Sqlite.layer while another connection migrates the file", () => {
  it.scoped("waits for the other migration to commit, then serves its tables", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "modelgate-sqlite-race-" })
      const file = path.join(dir, "modelgate.db")
      // The other process: its migrations table exists, and it is inside its migration transaction.
      const other = new Database(file)
      yield* Effect.addFinalizer(() => Effect.sync(() => other.close()))
      other.pragma("journal_mode = WAL")
      other.exec("CREATE TABLE effect_sql_migrations (migration_id integer PRIMARY KEY NOT NULL, created_at datetime NOT NULL DEFAULT current_timestamp, name VARCHAR(255) NOT NULL)")
      other.exec("BEGIN IMMEDIATE")
      // Every shipped migration: the other process migrates the file to the newest.
      for (const [id, name] of yield* loader) {
        other.prepare("INSERT INTO effect_sql_migrations (migration_id, name) VALUES (?, ?)").run(id, name)
      }
      other.exec("CREATE TABLE cost_records (request_id TEXT)")

      const counted = yield* Effect.fork(
        Effect.scoped(Effect.provide(Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ readonly n: number }>`SELECT count(*) AS n FROM cost_records`), Sqlite.layer(file)))
      )
      yield* TestClock.adjust("100 millis")
      assert.isNull(counted.unsafePoll(), "served before the other migration committed")
      other.exec("COMMIT")
      yield* TestClock.adjust("100 millis")
      const rows = yield* Fiber.join(counted)
      assert.deepStrictEqual(rows, [{ n: 0 }])
    }).pipe(Effect.provide(NodeContext.layer)), 30_000)
})
