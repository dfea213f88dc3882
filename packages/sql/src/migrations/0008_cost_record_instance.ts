/**
 * Cost records name the gateway instance that stored them
 * (`InstanceId`), so each of several instances sharing a database counts in
 * its budgets what the others spent (`CostStore.spendByWriter`). Rows written
 * before have none: they count as another instance's.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE cost_records ADD COLUMN instance TEXT`
})
