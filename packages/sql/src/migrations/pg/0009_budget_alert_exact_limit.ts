/**
 * Budget alerts hold their limit exact, as decimal text (`limit_pico_exact`),
 * as SQLite migration 0015 does: `limit_pico` (a BIGINT) holds at most
 * ~$9.2M, and alerts recorded through the sink held it capped at ~$9,007.
 * Rows written before (or by an instance of an earlier version still
 * running) have none: their limit is read from `limit_pico`. `IF NOT
 * EXISTS`, so a second migrator racing this one changes nothing.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE budget_alerts ADD COLUMN IF NOT EXISTS limit_pico_exact TEXT`
})
