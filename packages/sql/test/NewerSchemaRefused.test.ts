/**
 * A database migrated by a later version of modelgate (its
 * `effect_sql_migrations` holds an id past this build's newest) is refused at
 * open, naming the database and both versions: this build does not know what
 * the later migrations changed (a column's meaning, a table it no longer
 * writes), and @effect/sql's migrator alone opens it without a word.
 */
import { SqlClient } from "@effect/sql"
import { assert, describe, layer } from "@effect/vitest"
import * as Postgres from "@modelgate/sql/Postgres"
import { loader } from "@modelgate/sql/Migrations"
import { Effect, Exit, Layer } from "effect"
import { databases, servers } from "./databases.js"

const open = <E, R>(database: Layer.Layer<SqlClient.SqlClient, E, R>) => Effect.scoped(Layer.build(database))

layer(servers, { timeout: 60_000 })("a database newer than this build", (it) => {
  for (const db of databases) {
    describe(db.name, () => {
      it.scoped("is refused with a StoreError naming the database, its migration and this build's newest", () =>
        Effect.gen(function* () {
          const newest = Math.max(...(yield* db.name === "SQLite" ? loader : Postgres.loader).map(([id]) => id))
          const database = yield* db.create
          // A later version ran one more migration.
          yield* Effect.scoped(
            Effect.flatMap(Layer.build(database), (context) =>
              Effect.provide(
                Effect.flatMap(SqlClient.SqlClient, (sql) =>
                  sql`INSERT INTO effect_sql_migrations (migration_id, name) VALUES (${newest + 1}, 'from_a_later_version')`),
                context
              ))
          )
          const again = yield* Effect.exit(open(database))
          assert.isTrue(Exit.isFailure(again), "the newer database was opened")
          if (Exit.isFailure(again)) {
            const text = String(again.cause._tag === "Fail" ? again.cause.error.message : again.cause)
            assert.include(text, "database.open")
            assert.include(text, db.name === "SQLite" ? "modelgate.db" : "MODELGATE_DATABASE_URL")
            assert.include(text, `migration ${newest + 1}`)
            assert.include(text, `${newest}`)
            assert.include(text, "newer")
          }
        }))
    })
  }
})
