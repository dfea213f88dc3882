/**
 * A library user running `Sqlite.migrations` on their own `SqlClient` can
 * tell a database newer than this build by its class from the public
 * `Migrations` module (it was defined only in the package's `internal/`).
 */
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { assert, describe, it } from "@effect/vitest"
import { loader, SchemaNewerThanBuild } from "@modelgate/sql/Migrations"
import * as Sqlite from "@modelgate/sql/Sqlite"
import { Effect, Layer } from "effect"

describe("the migrations' failures", () => {
  it.scoped("a database newer than this build fails with the public SchemaNewerThanBuild, naming both versions", () =>
    Effect.gen(function* () {
      const newest = Math.max(...(yield* loader).map(([id]) => id))
      const client = yield* Layer.build(SqliteClient.layer({ filename: ":memory:" }))
      yield* Effect.provide(Layer.build(Sqlite.migrations), client)
      const sql = yield* Effect.provide(SqlClient.SqlClient, client)
      yield* sql`INSERT INTO effect_sql_migrations (migration_id, name) VALUES (${newest + 1}, 'from_a_later_version')`
      const error = yield* Effect.flip(Effect.provide(Effect.scoped(Layer.build(Sqlite.migrations)), client))
      assert.instanceOf(error, SchemaNewerThanBuild)
      if (error instanceof SchemaNewerThanBuild) assert.deepStrictEqual([error.applied, error.newest], [newest + 1, newest])
    }).pipe(Effect.provide(NodeContext.layer)))
})
