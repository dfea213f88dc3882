/**
 * A SQLite database one migration behind this build, on a connection that
 * takes no writes (a copy on a read-only mount, another user's file): the
 * migrator cannot bring it up to date. `modelgate costs` (a reading command)
 * fails at once saying why (read-only, at which migration, behind which),
 * not after half a minute with "another connection migrates it".
 */
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { assert, describe, it } from "@effect/vitest"
import * as Sqlite from "@modelgate/sql/Sqlite"
import { FileSystem, Path } from "@effect/platform"
import { Effect, Either, Layer } from "effect"

describe("a SQLite database one migration behind, opened read-only", () => {
  it.live("the migrations fail at once, saying the database is behind and read-only", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "modelgate-sqlite-behind-" })
      const file = path.join(dir, "modelgate.db")
      yield* Effect.scoped(Layer.build(Sqlite.layer(file))).pipe(Effect.orDie)
      // As an earlier version left it: its newest migration not applied yet.
      const newest = yield* Effect.flatMap(SqlClient.SqlClient, (sql) =>
        Effect.flatMap(
          sql<{ readonly id: number }>`SELECT max(migration_id) AS id FROM effect_sql_migrations`,
          ([row]) => Effect.as(sql`DELETE FROM effect_sql_migrations WHERE migration_id = ${row!.id}`, row!.id)
        )).pipe(Effect.provide(SqliteClient.layer({ filename: file })), Effect.orDie)

      const started = Date.now()
      const opened = yield* Effect.either(
        Effect.scoped(Layer.build(Sqlite.migrations.pipe(Layer.provide(SqliteClient.layer({ filename: file, readonly: true })))))
      )
      assert.isTrue(Either.isLeft(opened), "a read-only database behind this build opened")
      if (Either.isLeft(opened)) {
        const message = opened.left.message
        assert.include(message, "read-only")
        assert.include(message, `migration ${newest - 1}`)
        assert.include(message, String(newest))
        assert.notInclude(message, "another connection")
      }
      assert.isBelow(Date.now() - started, 5_000, "it waited for a migration nobody runs")
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer)), 60_000)
})
