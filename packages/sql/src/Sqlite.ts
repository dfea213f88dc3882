/**
 * The embedded SQLite database: a WAL-mode client on one file, migrated before
 * first use. The directory of the file is created when missing.
 */
import { SqliteClient, SqliteMigrator } from "@effect/sql-sqlite-node"
import { FileSystem, Path } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { Context, Data, Effect, Layer } from "effect"
import { migrateFully } from "./internal/migrateFully.js"
import { openFailure, sqliteFile } from "./internal/openError.js"
import type { StoreError } from "@modelgate/domain/Errors"
import { fullSync } from "./internal/writeConnection.js"
import { loader } from "./Migrations.js"
import * as RecordWorker from "./RecordWorker.js"

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

/** The database file takes no writes: SQLite opened it read-only. */
export class ReadOnlyFile extends Data.TaggedError("ReadOnlyFile")<{ readonly reason: string }> {
  override get message() {
    return `the file is read-only for this process (${this.reason}): check the owner and permissions of the file and of its directory, and that its file system is not mounted read-only`
  }
}

/**
 * Fail with `ReadOnlyFile` when the database takes no writes. SQLite opens a
 * file it may read but not write (read-only, another user's, a read-only
 * mount) read-only without a word; once migrated, opening it writes
 * nothing, so only the first record write would tell. A DELETE of no rows
 * is refused as every write is; anything else it meets (another
 * connection's lock) is no answer and passes.
 */
export const requireWrites: Effect.Effect<void, ReadOnlyFile, SqlClient.SqlClient> = Effect.flatMap(SqlClient.SqlClient, (sql) => sql`DELETE FROM record_batches WHERE 0`).pipe(
  Effect.catchAll((error) => {
    const cause: unknown = error.cause
    const code = typeof cause === "object" && cause !== null && "code" in cause ? cause.code : undefined
    return typeof code === "string" && code.startsWith("SQLITE_READONLY")
      ? Effect.fail(new ReadOnlyFile({ reason: cause instanceof Error ? cause.message : code }))
      : Effect.void
  })
)

/**
 * Migrate the database behind `SqlClient` (to the newest migration, whoever
 * else migrates it at the same time); a file behind that takes no writes is
 * refused at once (`MigrationsNeedWrites`).
 */
export const migrations = Layer.effectDiscard(migrateFully(loader, SqliteMigrator.run, requireWrites))

/** Options of `layer`. */
export interface SqliteOptions {
  /**
   * Refuse a file this process cannot write (the layer's `StoreError` says
   * it is read-only), as a gateway must; default false, for commands that
   * only read (`modelgate costs`).
   */
  readonly requireWrites?: boolean | undefined
}

/**
 * A migrated SQLite database at `filename` (WAL mode, commits
 * `synchronous = FULL`: `internal/writeConnection.ts`), its `SqliteFile`, and
 * the `SharedRecordWorker` that the record and cache stores write on for a
 * file (its thread starts when the first store asks for it; never for
 * `:memory:`). A file that cannot be opened or migrated (not a SQLite
 * database, unreadable), or (with `requireWrites`) written, fails the layer
 * with a `StoreError` naming the path.
 */
export const layer = (filename: string, options: SqliteOptions = {}) =>
  migrations.pipe(
    Layer.provideMerge(
      Layer.effectDiscard(Effect.flatMap(SqlClient.SqlClient, fullSync)).pipe(
        Layer.provideMerge(Layer.unwrapEffect(Effect.as(ensureDirectory(filename), SqliteClient.layer({ filename }))))
      )
    ),
    (opened) => (options.requireWrites === true ? Layer.tap(opened, (context) => Effect.provide(requireWrites, context)) : opened),
    Layer.catchAllCause((cause): Layer.Layer<unknown, StoreError> => Layer.failCause(openFailure(sqliteFile(filename), cause))),
    Layer.merge(Layer.succeed(SqliteFile, SqliteFile.of({ filename, inMemory: isInMemory(filename) }))),
    Layer.merge(RecordWorker.layerShared(filename))
  )
