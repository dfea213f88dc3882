/**
 * The embedded SQLite database: a WAL-mode client on one file, migrated before
 * first use. The directory of the file is created when missing.
 */
import { SqliteClient, SqliteMigrator } from "@effect/sql-sqlite-node"
import { FileSystem, Path } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { Context, Effect, Layer } from "effect"
import { migrateFully } from "./internal/migrateFully.js"
import { openFailure, sqliteFile } from "./internal/openError.js"
import type { StoreError } from "@modelgate/domain/Errors"
import { fullSync } from "./internal/writeConnection.js"
import { loader } from "./Migrations.js"
import * as RecordWorker from "./RecordWorker.js"

/** Migrate the database behind `SqlClient` (to the newest migration, whoever else migrates it at the same time). */
export const migrations = Layer.effectDiscard(migrateFully(loader, SqliteMigrator.run))

/**
 * Which SQLite database `Sqlite.layer` opened. Stores that can use a second
 * connection to the same file (the record writer's worker thread) read it;
 * an in-memory database cannot be shared.
 */
export class SqliteFile extends Context.Tag("@modelgate/sql/SqliteFile")<
  SqliteFile,
  {
    /** The filename given to `Sqlite.layer`. */
    readonly filename: string
    /** True for `:memory:` and the temporary database `""`: private to their connection. */
    readonly inMemory: boolean
  }
>() {}

/** Whether `filename` names a database that only its own connection can see. */
export const isInMemory = (filename: string): boolean =>
  filename === "" || filename === ":memory:" || /^file:.*[?&]mode=memory\b/.test(filename) || filename.startsWith("file::memory:")

/** Create the parent directory of `filename` (no-op for `:memory:`). */
const ensureDirectory = (filename: string) =>
  Effect.gen(function* () {
    if (isInMemory(filename)) return
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    yield* fs.makeDirectory(path.dirname(path.resolve(filename)), { recursive: true })
  }).pipe(Effect.orDie)

/**
 * A migrated SQLite database at `filename` (WAL mode, commits
 * `synchronous = FULL`: `internal/writeConnection.ts`), its `SqliteFile`, and
 * the `SharedRecordWorker` that the record and cache stores write on for a
 * file (its thread starts when the first store asks for it; never for
 * `:memory:`). A file that cannot be opened or migrated (not a SQLite
 * database, unreadable) fails the layer with a `StoreError` naming the path.
 */
export const layer = (filename: string) =>
  migrations.pipe(
    Layer.provideMerge(
      Layer.effectDiscard(Effect.flatMap(SqlClient.SqlClient, fullSync)).pipe(
        Layer.provideMerge(Layer.unwrapEffect(Effect.as(ensureDirectory(filename), SqliteClient.layer({ filename }))))
      )
    ),
    Layer.catchAllCause((cause): Layer.Layer<unknown, StoreError> => Layer.failCause(openFailure(sqliteFile(filename), cause))),
    Layer.merge(Layer.succeed(SqliteFile, SqliteFile.of({ filename, inMemory: isInMemory(filename) }))),
    Layer.merge(RecordWorker.layerShared(filename))
  )
