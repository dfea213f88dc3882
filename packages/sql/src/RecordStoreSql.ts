/**
 * The SQL `RecordStore`: each batch in one transaction, one multi-row INSERT
 * per table (in chunks, under SQLite's parameter limit), with the batch's id
 * so a retried batch is never written twice. On a SQLite file the batches are
 * written on a worker thread (`RecordWorker`), so a write never blocks the
 * event loop; on `:memory:` or PostgreSQL (`Postgres.layer`), on this thread.
 */
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import type { CostStore } from "@modelgate/core/CostStore"
import type { Events } from "@modelgate/core/Events"
import type { GatewayConfig } from "@modelgate/core/GatewayConfig"
import { InstanceId } from "@modelgate/core/InstanceId"
import * as Metrics from "@modelgate/core/Metrics"
import type { MetricsStore } from "@modelgate/core/MetricsStore"
import type { RecordSink } from "@modelgate/core/RecordSink"
import { RecordStore } from "@modelgate/core/RecordStore"
import * as RecordWriter from "@modelgate/core/RecordWriter"
import { StoreError } from "@modelgate/domain/Errors"
import type { GatewayRecord } from "@modelgate/domain/Records"
import { Effect, Layer, Option } from "effect"
import * as crypto from "node:crypto"
import * as CostStoreSql from "./CostStoreSql.js"
import * as RecordColumns from "./internal/recordColumns.js"
import { describeSqlError, insertTablesOnce, type RecordTable, type Row, type TableRows } from "./internal/recordRows.js"
import * as MetricsStoreSql from "./MetricsStoreSql.js"
import * as RecordRetention from "./RecordRetention.js"
import * as RecordWorker from "./RecordWorker.js"
import { chooseWorker, type WriteThread as WriteThreadType } from "./internal/writeThread.js"

/** The table and row of a record; with `instance`, a cost record's row names it. */
export const toRow: (record: GatewayRecord, instance?: string | undefined) => readonly [table: RecordTable, row: Row] = RecordColumns.toRow

/** Group a batch's rows by table, in first-seen table order; with `instance`, cost records' rows name it. */
export const toTables = (records: ReadonlyArray<GatewayRecord>, instance?: string | undefined): ReadonlyArray<TableRows> => {
  const byTable = new Map<RecordTable, Array<Row>>()
  for (const record of records) {
    const [table, row] = toRow(record, instance)
    const rows = byTable.get(table)
    if (rows === undefined) byTable.set(table, [row])
    else rows.push(row)
  }
  return Array.from(byTable, ([table, rows]) => ({ table, rows }))
}

const writeError = (error: SqlError) => new StoreError({ operation: "records.writeBatch", reason: describeSqlError(error) })

/**
 * Batch ids: one per batch array, the same for every retry of that batch (the
 * writer retries with the same array), unique across stores and processes.
 */
const batchIds = () => {
  const store = crypto.randomUUID()
  const ids = new WeakMap<ReadonlyArray<GatewayRecord>, string>()
  let next = 0
  return (records: ReadonlyArray<GatewayRecord>) => {
    let id = ids.get(records)
    if (id === undefined) {
      id = `${store}:${++next}`
      ids.set(records, id)
    }
    return id
  }
}

/**
 * Build the SQL record store writing on the current `SqlClient`, on this
 * thread. Each batch carries an id committed with its rows (`batchIds`): a
 * batch whose COMMIT reached the database but whose answer was lost (a
 * connection to PostgreSQL dropped) is not written twice when retried. Cost
 * records are stored with this process's `InstanceId`.
 */
export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const instance = yield* InstanceId
  const idOf = batchIds()
  const writeBatch = Effect.fn("RecordStoreSql.writeBatch")(
    function* (records: ReadonlyArray<GatewayRecord>) {
      if (records.length === 0) return
      const batchId = idOf(records)
      const written = yield* insertTablesOnce(sql, toTables(records, instance), batchId)
      if (!written) {
        yield* Effect.logInfo(`record batch ${batchId} (${records.length} records) was committed before its answer was lost; not written again`)
      }
    },
    Effect.mapError(writeError)
  )
  return RecordStore.of({ writeBatch })
})

/**
 * Build the record store writing on `worker`. Each batch carries an id
 * (`batchIds`) committed with its rows: a batch whose thread died after
 * COMMIT but before replying is not written twice when retried. Cost records
 * are stored with this process's `InstanceId`.
 */
export const makeOn = (worker: RecordWorker.RecordWorker) =>
  Effect.map(InstanceId, (instance) => {
    const idOf = batchIds()
    const writeBatch = Effect.fn("RecordStoreSql.writeBatch")(function* (records: ReadonlyArray<GatewayRecord>) {
      if (records.length === 0) return
      const batchId = idOf(records)
      const outcome = yield* worker.writeColumns(RecordColumns.toTableColumns(records, instance), { batchId })
      if (outcome === "already-written") {
        yield* Effect.logInfo(`record batch ${batchId} (${records.length} records) was committed before its thread died; not written again`)
      }
    })
    return RecordStore.of({ writeBatch })
  })

/**
 * Build the record store writing on a worker thread with its own connection to
 * `filename` (a file, migrated already): the shared worker of `Sqlite.layer`
 * when it is there for this file, else a worker of its own that stops with the
 * scope.
 */
export const makeWorker = (filename: string) => Effect.flatMap(RecordWorker.forFile(filename), makeOn)

/**
 * Where batch writes run: `"worker"` (a worker thread with its own connection;
 * needs a SQLite file), `"main"` (this thread, on the `SqlClient`; any SQL
 * database), or `"auto"`: the worker for a SQLite file opened by
 * `Sqlite.layer` (its `SqliteFile`), this thread otherwise (`:memory:`, no
 * `SqliteFile`, e.g. PostgreSQL).
 */
export type WriteThread = WriteThreadType

/** The SQL record store, writing on `thread` (needs a migrated `SqlClient`; the worker also needs `SqliteFile`). */
export const layerWith = (options: { readonly thread: WriteThread }): Layer.Layer<RecordStore, StoreError, SqlClient.SqlClient> =>
  Layer.scoped(
    RecordStore,
    Effect.flatMap(chooseWorker(options.thread, "records.worker"), Option.match({ onNone: () => make, onSome: makeOn }))
  )

/**
 * The SQL record store (needs a migrated `SqlClient`): batch writes on a worker
 * thread for a SQLite file from `Sqlite.layer`, on this thread otherwise.
 * A worker that cannot start is a defect of the layer, with its reason.
 */
export const layer: Layer.Layer<RecordStore, never, SqlClient.SqlClient> = layerWith({ thread: "auto" }).pipe(Layer.orDie)

/** The SQL record store, always writing on this thread (needs a migrated `SqlClient`). */
export const layerMain: Layer.Layer<RecordStore, never, SqlClient.SqlClient> = Layer.effect(RecordStore, make)

/**
 * The accounting stack on SQL: the live record writer over this store, the SQL
 * cost and metrics stores, `Metrics`, and the record retention
 * (`RecordRetention.layer`: `records.retentionDays`). Add `CostTracker.layer`
 * on top. `store` picks the record store (default `layer`: the worker for a
 * SQLite file).
 */
export const layerAccountingWith = (
  store: Layer.Layer<RecordStore, never, SqlClient.SqlClient> = layer
): Layer.Layer<
  RecordSink | RecordWriter.RecordWriter | Metrics.Metrics | MetricsStore | CostStore | RecordStore,
  never,
  SqlClient.SqlClient | Events | GatewayConfig
> =>
  RecordWriter.layer.pipe(
    Layer.provideMerge(Metrics.layer),
    Layer.provideMerge(Layer.mergeAll(store, CostStoreSql.layer, MetricsStoreSql.layer)),
    Layer.merge(RecordRetention.layer)
  )

/** The accounting stack on SQL with the default record store (`layer`). */
export const layerAccounting: Layer.Layer<
  RecordSink | RecordWriter.RecordWriter | Metrics.Metrics | MetricsStore | CostStore | RecordStore,
  never,
  SqlClient.SqlClient | Events | GatewayConfig
> = layerAccountingWith()
