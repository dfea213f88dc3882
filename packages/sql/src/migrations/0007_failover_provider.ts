/**
 * Failover records name the provider of the model they leave
 * (FailoverRecord.provider), so a model known only from its failovers (the
 * local limiter refused it before any call) is labelled with its provider in
 * the metrics, as it is once it serves requests. Rows written before have none.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE failover_events ADD COLUMN provider TEXT`
})
