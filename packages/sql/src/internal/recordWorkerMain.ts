/**
 * The write worker thread's entry: its own SQLite connection to the database
 * file (WAL lets the main thread's connection keep reading), one transaction
 * per request: record batches (`WriteRows`), cache writes (`Cache*`) and the
 * record retention's deletes (`DeleteRecords`).
 * Spawned by `RecordWorker.make`, which has already migrated the file; closed
 * by the spawning scope.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeWorkerRunner from "@effect/platform-node/NodeWorkerRunner"
import * as WorkerRunner from "@effect/platform/WorkerRunner"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Layer, type ParseResult, Schema } from "effect"
import { workerData } from "node:worker_threads"
import * as CacheRows from "./cacheRows.js"
import { deleteOlderChunk } from "./recordRetention.js"
import { describeSqlError, insertColumns } from "./recordRows.js"
import { workerConnection } from "./writeConnection.js"
import { Request, WorkerData, WriteFailed } from "./recordWorkerProtocol.js"

const failed = (error: SqlError | ParseResult.ParseError) =>
  new WriteFailed({ reason: error._tag === "SqlError" ? describeSqlError(error) : error.message })

/** Run `f` on the connection; an SQL failure is a `WriteFailed` with its reason. */
const onSql = <A>(f: (sql: SqlClient.SqlClient) => Effect.Effect<A, SqlError | ParseResult.ParseError>) =>
  Effect.flatMap(SqlClient.SqlClient, f).pipe(Effect.mapError(failed))

const main = Effect.gen(function* () {
  const data = yield* Schema.decodeUnknown(WorkerData)(workerData)
  let commits = 0
  /** The test hook: leave right after the n-th COMMIT, before the reply is sent. */
  const afterCommit = (written: boolean) =>
    Effect.sync(() => {
      if (!written) return
      commits++
      if (data.exitAfterCommits !== undefined && commits >= data.exitAfterCommits) process.exit(7)
    })
  const handlers = WorkerRunner.layerSerialized(Request, {
    WriteRows: ({ batchId, tables }) =>
      onSql((sql) => insertColumns(sql, tables, batchId, data.keepBatchIds)).pipe(Effect.tap(afterCommit), Effect.map((written) => ({ written }))),
    CacheSet: ({ rows }) => onSql((sql) => CacheRows.upsertAll(sql, rows)),
    CacheTouch: ({ keys, now }) => onSql((sql) => CacheRows.touch(sql, keys, now)),
    CacheDelete: ({ key }) => onSql((sql) => CacheRows.remove(sql, key)),
    CachePurgeRows: ({ at, purge }) => onSql((sql) => CacheRows.purge(sql, purge, at)),
    CacheSweep: ({ now }) => onSql((sql) => CacheRows.sweep(sql, now)),
    CacheEvict: ({ bounds }) => onSql((sql) => CacheRows.evict(sql, bounds)),
    DeleteRecords: ({ before, limit, table }) => onSql((sql) => deleteOlderChunk(sql, table, before, limit))
  })
  /** The connection; with the test hook, waiting at most `busyTimeoutMs` for another connection's lock. */
  const connection =
    data.busyTimeoutMs === undefined
      ? workerConnection(data.filename)
      : Layer.effectDiscard(
          Effect.flatMap(SqlClient.SqlClient, (sql) => sql`PRAGMA busy_timeout = ${sql.literal(String(data.busyTimeoutMs))}`)
        ).pipe(Layer.orDie, Layer.provideMerge(workerConnection(data.filename)))
  return yield* WorkerRunner.launch(handlers.pipe(Layer.provide(connection), Layer.provide(NodeWorkerRunner.layer)))
})

NodeRuntime.runMain(main)
