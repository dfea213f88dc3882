/**
 * Drop the record-table indexes that no query reads, so each record written
 * maintains fewer B-trees (on the request path every answer writes a cost, a
 * performance and a quality record):
 * - `cost_records_request` (request_id): no query filters, joins or orders
 *   cost records by request id (CostStoreSql and MetricsStoreSql filter on
 *   time, model, provider, agent type and API key, which keep their indexes).
 * - `quality_scores_at`, `quality_scores_model_task_at`: nothing reads
 *   `quality_scores` (the evaluator keeps its running state in memory).
 * test/RecordIndexes.test.ts runs EXPLAIN QUERY PLAN over every query the
 * SQL stores build: each remaining index of the tables they read is used.
 * A store that comes to read these columns adds the index it needs in a new
 * migration.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`DROP INDEX IF EXISTS cost_records_request`
  yield* sql`DROP INDEX IF EXISTS quality_scores_at`
  yield* sql`DROP INDEX IF EXISTS quality_scores_model_task_at`
})
