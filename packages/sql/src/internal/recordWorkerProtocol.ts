/**
 * The messages between the SQL stores and their worker thread (record batches,
 * cache writes, the record retention's deletes), as Schemas (`@effect/platform`
 * serialized worker). Imports nothing from modelgate.
 */
import { Schema } from "effect"
import { CacheBounds, CachePurge, CacheRow } from "./cacheRows.js"
import { RecordTable, TableColumns } from "./recordRows.js"

/** What the worker is given at spawn (`workerData`). */
export const WorkerData = Schema.Struct({
  /** The database file to open (migrated already). */
  filename: Schema.String,
  /** How many committed batch ids `record_batches` keeps at least. */
  keepBatchIds: Schema.Number,
  /** Test hook: the thread exits (code 7) right after its n-th committed batch, before replying. */
  exitAfterCommits: Schema.optional(Schema.Number),
  /** Test hook: how long the connection waits for another connection's lock (`busy_timeout`, ms; default the driver's 5 s). */
  busyTimeoutMs: Schema.optional(Schema.NonNegativeInt)
})
/** What the worker is given at spawn. */
export type WorkerData = typeof WorkerData.Type

/** A write failed in the worker; its transaction was rolled back. */
export class WriteFailed extends Schema.TaggedError<WriteFailed>()("WriteFailed", {
  reason: Schema.String
}) {}

/**
 * Write one batch of rows, in one transaction. With a `batchId`, the id is
 * committed with the rows, and a batch whose id was committed before is not
 * written again: the answer says whether this request wrote it.
 */
export class WriteRows extends Schema.TaggedRequest<WriteRows>()("WriteRows", {
  failure: WriteFailed,
  success: Schema.Struct({ written: Schema.Boolean }),
  payload: { tables: Schema.Array(TableColumns), batchId: Schema.optional(Schema.String) }
}) {}

/** Insert or replace cached responses, in order, in one transaction. */
export class CacheSet extends Schema.TaggedRequest<CacheSet>()("CacheSet", {
  failure: WriteFailed,
  success: Schema.Void,
  payload: { rows: Schema.Array(CacheRow) }
}) {}

/** Mark cached responses as used at `now`. */
export class CacheTouch extends Schema.TaggedRequest<CacheTouch>()("CacheTouch", {
  failure: WriteFailed,
  success: Schema.Void,
  payload: { keys: Schema.Array(Schema.String), now: Schema.Number }
}) {}

/** Delete a cached response. */
export class CacheDelete extends Schema.TaggedRequest<CacheDelete>()("CacheDelete", {
  failure: WriteFailed,
  success: Schema.Void,
  payload: { key: Schema.String }
}) {}

/** Delete the cached responses a purge covers and log it at `at`; how many went and the purge's id. */
export class CachePurgeRows extends Schema.TaggedRequest<CachePurgeRows>()("CachePurgeRows", {
  failure: WriteFailed,
  success: Schema.Struct({ deleted: Schema.Number, id: Schema.Number }),
  payload: { purge: CachePurge, at: Schema.Number }
}) {}

/** Delete the cached responses expired at `now`; how many. */
export class CacheSweep extends Schema.TaggedRequest<CacheSweep>()("CacheSweep", {
  failure: WriteFailed,
  success: Schema.Number,
  payload: { now: Schema.Number }
}) {}

/** Evict least recently used cached responses until the bounds hold; how many. */
export class CacheEvict extends Schema.TaggedRequest<CacheEvict>()("CacheEvict", {
  failure: WriteFailed,
  success: Schema.Number,
  payload: { bounds: CacheBounds }
}) {}

/** Delete at most `limit` rows of a record table recorded before `before` (the retention), oldest first; how many. */
export class DeleteRecords extends Schema.TaggedRequest<DeleteRecords>()("DeleteRecords", {
  failure: WriteFailed,
  success: Schema.Number,
  payload: { table: RecordTable, before: Schema.Number, limit: Schema.Int.pipe(Schema.positive()) }
}) {}

/** Every request the worker serves. */
export const Request = Schema.Union(WriteRows, CacheSet, CacheTouch, CacheDelete, CachePurgeRows, CacheSweep, CacheEvict, DeleteRecords)
/** Every request the worker serves. */
export type Request = typeof Request.Type
