/**
 * A PostgreSQL database whose sessions take no writes (a hot standby, a
 * reader endpoint, `default_transaction_read_only` set for the database or
 * the gateway's role): the gateway would start and answer, and every record
 * write would fail, waiting in memory until the process ends. `modelgate
 * serve` (`requireWrites`) refuses it at start with a `StoreError` saying it
 * is read-only, as it does a read-only SQLite file; the commands that only
 * read (`modelgate costs`) still open it, also as a role granted only SELECT
 * (the migrator has nothing to run, and takes no lock on its table). One
 * migration behind this build (its primary still run by the version before),
 * a reading command fails at once saying so, not after half a minute with
 * "another connection migrates it".
 */
import { NodeContext } from "@effect/platform-node"
import { PgClient } from "@effect/sql-pg"
import * as Reactivity from "@effect/experimental/Reactivity"
import { assert, layer } from "@effect/vitest"
import * as Database from "@modelgate/node/Database"
import * as TestPostgres from "@modelgate/testkit/TestPostgres"
import { Effect, Either, Layer, type Redacted, type Scope } from "effect"

/** Run `statement` on its own connection to `url`. */
const run = (url: Redacted.Redacted<string>, statement: string) =>
  Effect.scoped(Effect.flatMap(PgClient.make({ url, maxConnections: 1 }), (sql) => sql.unsafe(statement))).pipe(
    Effect.provide(Reactivity.layer),
    Effect.orDie
  )

/**
 * Make the sessions on `database` read-only until the scope closes: on PGlite
 * (one session for every connection) that session's default, on a real
 * server the database's.
 */
const readOnlySessions = (database: TestPostgres.FreshDatabase) =>
  Effect.flatMap(TestPostgres.TestPostgres, (server) =>
    server.embedded
      ? Effect.acquireRelease(run(database.url, "SET default_transaction_read_only = on"), () =>
        run(database.url, "SET default_transaction_read_only = off"))
      : run(database.url, `ALTER DATABASE ${database.name} SET default_transaction_read_only = on`))

/**
 * Make the sessions on `database` run as a role granted only SELECT until
 * the scope closes: on PGlite (one session) `SET ROLE`, on a real server the
 * database's default role.
 */
const selectOnlyRole = (database: TestPostgres.FreshDatabase) =>
  Effect.flatMap(TestPostgres.TestPostgres, (server) => {
    const role = `modelgate_reader_${database.name}`
    const grant = `CREATE ROLE ${role}; GRANT USAGE ON SCHEMA public TO ${role}; GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${role};`
    return Effect.acquireRelease(
      run(database.url, `${grant} ${server.embedded ? `SET ROLE ${role}` : `ALTER DATABASE ${database.name} SET role = ${role}`}`),
      () => run(database.url, `SET ROLE NONE; ${server.embedded ? "" : `ALTER DATABASE ${database.name} RESET role;`} DROP OWNED BY ${role}; DROP ROLE ${role}`)
    )
  })

/**
 * A fresh database, migrated by the gateway, then made to take no writes by
 * `readOnly`; opened as `modelgate serve` would (`requireWrites`), then as
 * `modelgate costs` would, each answer checked.
 */
const opened = (readOnly: (database: TestPostgres.FreshDatabase) => Effect.Effect<unknown, never, TestPostgres.TestPostgres | Scope.Scope>) =>
  Effect.gen(function* () {
    const database = yield* TestPostgres.fresh
    const target: Database.DatabaseTarget = { _tag: "Postgres", url: database.url, maxConnections: database.maxConnections }
    yield* Effect.scoped(Layer.build(Database.layer(target, { requireWrites: true }))).pipe(Effect.orDie)
    yield* readOnly(database)

    const serve = yield* Effect.either(Effect.scoped(Layer.build(Database.layer(target, { requireWrites: true }))))
    assert.isTrue(Either.isLeft(serve), "a database that takes no writes opened for writing")
    if (Either.isLeft(serve)) {
      assert.strictEqual(serve.left._tag, "StoreError")
      assert.include(serve.left.message, "read-only")
      assert.include(serve.left.message, "MODELGATE_DATABASE_URL")
    }
    const read = yield* Effect.either(Effect.scoped(Layer.build(Database.layer(target))))
    assert.isTrue(Either.isRight(read), `a reading command could not open it: ${Either.isLeft(read) ? read.left.message : ""}`)
  })

/** A migrated database, then put back one migration (as the version before left it) and made to take no writes. */
const behindAndReadOnly = Effect.gen(function* () {
  const database = yield* TestPostgres.fresh
  const target: Database.DatabaseTarget = { _tag: "Postgres", url: database.url, maxConnections: database.maxConnections }
  yield* Effect.scoped(Layer.build(Database.layer(target, { requireWrites: true }))).pipe(Effect.orDie)
  const [row] = yield* run(database.url, "DELETE FROM effect_sql_migrations WHERE migration_id = (SELECT max(migration_id) FROM effect_sql_migrations) RETURNING migration_id")
  yield* readOnlySessions(database)
  return { target, newest: Number((row as { readonly migration_id: number }).migration_id) }
})

layer(Layer.merge(TestPostgres.layer, NodeContext.layer), { timeout: 60_000, excludeTestServices: true })(
  "a PostgreSQL database that takes no writes",
  (it) => {
    it.scoped("read-only sessions: serve (requireWrites) refuses it at start, saying it is read-only; a reading command opens it", () =>
      opened(readOnlySessions))

    it.scoped("a role granted only SELECT: serve refuses it, saying it is read-only; a reading command opens it", () =>
      opened(selectOnlyRole))

    it.scoped("one migration behind: a reading command fails at once, saying the database is behind and read-only", () =>
      Effect.gen(function* () {
        const { newest, target } = yield* behindAndReadOnly
        const started = Date.now()
        const read = yield* Effect.either(Effect.scoped(Layer.build(Database.layer(target))))
        assert.isTrue(Either.isLeft(read), "a read-only database behind this build opened")
        if (Either.isLeft(read)) {
          assert.include(read.left.message, "read-only")
          assert.include(read.left.message, `migration ${newest - 1}`)
          assert.include(read.left.message, String(newest))
          assert.notInclude(read.left.message, "another connection")
        }
        assert.isBelow(Date.now() - started, 5_000, "it waited for a migration nobody runs")
      }))
  }
)
