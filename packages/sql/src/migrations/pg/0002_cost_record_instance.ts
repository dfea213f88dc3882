/**
 * Cost records name the gateway instance that stored them (`InstanceId`), as
 * SQLite migration 0008 does: each of several instances counts in its budgets
 * what the others spent (`CostStore.spendByWriter`). Rows written before have
 * none: they count as another instance's. `IF NOT EXISTS`, so a second
 * migrator racing this one changes nothing.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE cost_records ADD COLUMN IF NOT EXISTS instance TEXT`
})
