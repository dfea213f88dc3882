/**
 * Record tables: costs, performance, health checks, rate-limit events, failovers,
 * quality scores, budget alerts, cached responses. (Owned by the accounting issue.)
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`SELECT 1`
})
