/**
 * The record retention's delete: the oldest rows of a record table recorded
 * before an instant, a bounded chunk per statement, so neither connection
 * (the worker's on SQLite, this thread's on PostgreSQL) holds the database for
 * long. Portable SQL (SQLite 3.35+ and PostgreSQL): the chunk is found through
 * the table's index on `at` (migrations 0002, 0009; pg 0001, 0003), oldest
 * first. Imports nothing from modelgate, so the worker thread loads only this.
 */
import type { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect } from "effect"
import type { RecordTable } from "./recordRows.js"

/** Rows deleted per statement by default. */
export const defaultChunk = 5_000

/** Delete at most `limit` rows of `table` with `at < before`, oldest first; how many were deleted. */
export const deleteOlderChunk = (
  sql: SqlClient.SqlClient,
  table: RecordTable,
  before: number,
  limit: number
): Effect.Effect<number, SqlError> =>
  Effect.map(
    sql`DELETE FROM ${sql(table)} WHERE id IN (
      SELECT id FROM ${sql(table)} WHERE at < ${before} ORDER BY at LIMIT ${limit}
    ) RETURNING id`,
    (rows) => rows.length
  )
