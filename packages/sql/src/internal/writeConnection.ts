/**
 * How the connections that write the database are set up.
 *
 * - Commits are `synchronous = FULL`, so a committed batch of records
 *   survives a power loss too, not only a crash of the process.
 *   better-sqlite3's SQLite defaults WAL connections to NORMAL (a commit is
 *   durable only once a later checkpoint syncs it); records are written in
 *   batches, so the one extra fsync per commit is cheap.
 * - The write worker's connection keeps statement journals in memory
 *   (`temp_store = MEMORY`). SQLite keeps such an undo log of the running
 *   statement inside a transaction, so that a failed multi-row INSERT can be
 *   undone alone; by default it spills to a temporary file past 64 KiB, which
 *   a batch's multi-row INSERTs did on every statement (~15% of the thread's
 *   CPU in the kernel). A statement journal is never read after a crash:
 *   durability is unchanged.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { Effect, Layer } from "effect"

/** Set a writing connection's commit durability (see the module doc). */
export const fullSync = (sql: SqlClient.SqlClient): Effect.Effect<unknown, SqlError> => sql`PRAGMA synchronous = FULL`

/** The write worker's connection to `filename` (see the module doc). */
export const workerConnection = (filename: string): Layer.Layer<SqlClient.SqlClient | SqliteClient.SqliteClient> =>
  Layer.effectDiscard(
    Effect.flatMap(SqlClient.SqlClient, (sql) => Effect.zipRight(sql`PRAGMA temp_store = MEMORY`, fullSync(sql)))
  ).pipe(
    Layer.provideMerge(SqliteClient.layer({ filename })),
    Layer.orDie
  )
