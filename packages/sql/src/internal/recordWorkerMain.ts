/**
 * The record worker thread's entry: its own SQLite connection to the
 * database file (WAL lets the main thread's connection keep reading), one
 * transaction per `WriteRows`. Spawned by `RecordWorker.make`, which has
 * already migrated the file; closed by the spawning layer's scope.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeWorkerRunner from "@effect/platform-node/NodeWorkerRunner"
import * as WorkerRunner from "@effect/platform/WorkerRunner"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { Effect, Layer, Schema } from "effect"
import { workerData } from "node:worker_threads"
import { describeSqlError, fromColumns, insertTables } from "./recordRows.js"
import { RecordWriteFailed, Request, WorkerData } from "./recordWorkerProtocol.js"

const main = Effect.gen(function* () {
  const { filename } = yield* Schema.decodeUnknown(WorkerData)(workerData)
  const handlers = WorkerRunner.layerSerialized(Request, {
    WriteRows: ({ tables }) =>
      Effect.flatMap(SqlClient.SqlClient, (sql) => insertTables(sql, tables.map(fromColumns))).pipe(
        Effect.mapError((error) => new RecordWriteFailed({ reason: describeSqlError(error) }))
      )
  })
  return yield* WorkerRunner.launch(
    handlers.pipe(Layer.provide(SqliteClient.layer({ filename })), Layer.provide(NodeWorkerRunner.layer))
  )
})

NodeRuntime.runMain(main)
