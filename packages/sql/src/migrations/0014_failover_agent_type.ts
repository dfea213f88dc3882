/**
 * Failover records name the agent type of the request that failed over
 * (FailoverRecord.agentType), so a team's metrics (`/v1/metrics` with its
 * virtual key) count its own failovers only, not every team's on a model
 * they share. Rows written before have none: they count for no team.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE failover_events ADD COLUMN agent_type TEXT`
})
