/**
 * Failover records name the agent type of the request that failed over, as
 * SQLite migration 0014 does: a team's metrics count its own failovers only.
 * Rows written before have none: they count for no team. `IF NOT EXISTS`, so
 * a second migrator racing this one changes nothing.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE failover_events ADD COLUMN IF NOT EXISTS agent_type TEXT`
})
