/**
 * The messages between the record store and its worker thread, as Schemas
 * (`@effect/platform` serialized worker). Imports nothing from modelgate.
 */
import { Schema } from "effect"
import { TableColumns } from "./recordRows.js"

/** What the worker is given at spawn (`workerData`): the database file to open. */
export const WorkerData = Schema.Struct({ filename: Schema.String })

/** A batch write failed in the worker; the transaction was rolled back. */
export class RecordWriteFailed extends Schema.TaggedError<RecordWriteFailed>()("RecordWriteFailed", {
  reason: Schema.String
}) {}

/** Write one batch of rows, in one transaction. */
export class WriteRows extends Schema.TaggedRequest<WriteRows>()("WriteRows", {
  failure: RecordWriteFailed,
  success: Schema.Void,
  payload: { tables: Schema.Array(TableColumns) }
}) {}

/** Every request the worker serves. */
export const Request = Schema.Union(WriteRows)
/** Every request the worker serves. */
export type Request = typeof Request.Type
