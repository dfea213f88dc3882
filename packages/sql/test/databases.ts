/**
 * The databases the store tests run on: a SQLite file in a temporary
 * directory, and PostgreSQL (`TestPostgres`: PGlite in this process, or the
 * server of `MODELGATE_TEST_DATABASE_URL`). Each is empty and migrated.
 */
import type { CommandExecutor, Path } from "@effect/platform"
import { FileSystem } from "@effect/platform"
import type { SqlClient } from "@effect/sql"
import type { StoreError } from "@modelgate/domain/Errors"
import * as Postgres from "@modelgate/sql/Postgres"
import * as Sqlite from "@modelgate/sql/Sqlite"
import * as TestPostgres from "@modelgate/testkit/TestPostgres"
import { Effect, Layer } from "effect"

/** What a database layer needs: the test server and the platform's services. */
export type DatabaseNeeds = TestPostgres.TestPostgres | FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor

/** One database the stores run on. */
export interface Database {
  readonly name: "SQLite" | "PostgreSQL"
  readonly layer: Layer.Layer<SqlClient.SqlClient, StoreError, DatabaseNeeds>
}

/** A migrated SQLite file in a fresh temporary directory (its record and cache writes on the worker thread). */
export const sqlite: Database = {
  name: "SQLite",
  layer: Layer.unwrapScoped(
    Effect.map(
      Effect.orDie(Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped({ prefix: "modelgate-sql-" }))),
      (dir) => Sqlite.layer(`${dir}/modelgate.db`)
    )
  )
}

/** A migrated, empty PostgreSQL database. */
export const postgres: Database = {
  name: "PostgreSQL",
  layer: Layer.unwrapScoped(
    Effect.map(TestPostgres.fresh, ({ maxConnections, url }) => Postgres.layer({ url, maxConnections }))
  )
}

/** Both. */
export const databases: ReadonlyArray<Database> = [sqlite, postgres]
