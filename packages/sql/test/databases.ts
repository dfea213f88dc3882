/**
 * The databases the store tests run on: a SQLite file in a temporary
 * directory, and PostgreSQL (`TestPostgres`: PGlite in this process, or the
 * server of `MODELGATE_TEST_DATABASE_URL`). Each is empty and migrated.
 */
import type { CommandExecutor, Path } from "@effect/platform"
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import type { SqlClient } from "@effect/sql"
import type { StoreError } from "@modelgate/domain/Errors"
import * as Postgres from "@modelgate/sql/Postgres"
import * as Sqlite from "@modelgate/sql/Sqlite"
import * as TestPostgres from "@modelgate/testkit/TestPostgres"
import { Effect, Layer, type Scope } from "effect"

/** What a database layer needs: the test server and the platform's services. */
export type DatabaseNeeds = TestPostgres.TestPostgres | FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor

/** What opening a database needs: the platform's services (the migrators'). */
export type OpenNeeds = FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor

/** One database the stores run on. */
export interface Database {
  readonly name: "SQLite" | "PostgreSQL"
  /**
   * A new empty database for this scope, as the layer that opens it: build it
   * again (after or while another is open) and it opens the same database,
   * as a restarted gateway or a second instance would.
   */
  readonly create: Effect.Effect<Layer.Layer<SqlClient.SqlClient, StoreError, OpenNeeds>, never, Scope.Scope | DatabaseNeeds>
  /** A new empty, migrated database, open for the layer's lifetime. */
  readonly layer: Layer.Layer<SqlClient.SqlClient, StoreError, DatabaseNeeds>
}

const database = (name: Database["name"], create: Database["create"]): Database => ({
  name,
  create,
  layer: Layer.unwrapScoped(create)
})

/** A migrated SQLite file in a fresh temporary directory (its record and cache writes on the worker thread). */
export const sqlite: Database = database(
  "SQLite",
  Effect.map(
    Effect.orDie(Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped({ prefix: "modelgate-sql-" }))),
    (dir) => Sqlite.layer(`${dir}/modelgate.db`)
  )
)

/** A migrated, empty PostgreSQL database. */
export const postgres: Database = database(
  "PostgreSQL",
  Effect.map(TestPostgres.fresh, ({ maxConnections, url }) => Postgres.layer({ url, maxConnections }))
)

/** Both. */
export const databases: ReadonlyArray<Database> = [sqlite, postgres]

/** What a store test file shares (`layer(servers, { timeout: 60_000 })`): one test PostgreSQL server per file, and Node's platform services. */
export const servers = Layer.merge(TestPostgres.layer, NodeContext.layer)
