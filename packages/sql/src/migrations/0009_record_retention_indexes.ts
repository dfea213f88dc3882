/**
 * The record retention (`records.retentionDays`, `RecordRetention`) deletes
 * each record table's rows older than the retention, oldest first, through an
 * index on `at`. Every table has one (0002) but `quality_scores`, whose
 * indexes 0005 dropped when nothing read it: the retention reads it now.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE INDEX IF NOT EXISTS quality_scores_at ON quality_scores (at)`
})
