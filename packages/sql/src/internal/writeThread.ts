/**
 * Where a SQL store writes: on the write worker thread (a SQLite file) or on
 * this thread's `SqlClient`. Shared by the record and cache stores.
 */
import { StoreError } from "@modelgate/domain/Errors"
import { Effect, Option, type Scope } from "effect"
import * as RecordWorker from "../RecordWorker.js"
import { SqliteFile } from "../Sqlite.js"

/**
 * Where writes run: `"worker"` (a worker thread with its own connection;
 * needs a SQLite file), `"main"` (this thread, on the `SqlClient`; any SQL
 * database), or `"auto"`: the worker for a SQLite file opened by
 * `Sqlite.layer` (its `SqliteFile`), this thread otherwise (`:memory:`, no
 * `SqliteFile`, e.g. PostgreSQL).
 */
export type WriteThread = "worker" | "main" | "auto"

/** The worker to write on for `thread` (`None`: this thread); `operation` names the store in the error. */
export const chooseWorker = (
  thread: WriteThread,
  operation: string
): Effect.Effect<Option.Option<RecordWorker.RecordWorker>, StoreError, Scope.Scope> =>
  Effect.gen(function* () {
    if (thread === "main") return Option.none()
    const file = yield* Effect.serviceOption(SqliteFile)
    if (Option.isSome(file) && !file.value.inMemory) return Option.some(yield* RecordWorker.forFile(file.value.filename))
    if (thread === "auto") return Option.none()
    return yield* new StoreError({
      operation,
      reason: Option.isNone(file)
        ? "a worker needs the SQLite file of Sqlite.layer (no SqliteFile provided)"
        : `a worker cannot share the in-memory database ${JSON.stringify(file.value.filename)}; use thread "main"`
    })
  })
