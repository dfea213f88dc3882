/**
 * Health checks name their model's provider (HealthCheckRecord.provider), so
 * a model known only from its probes is labelled with its provider in the
 * metrics, as it is once it serves requests. Rows written before have none.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE health_checks ADD COLUMN provider TEXT`
})
