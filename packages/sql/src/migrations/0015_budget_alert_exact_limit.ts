/**
 * Budget alerts hold their limit exact, as decimal text (`limit_pico_exact`):
 * a threshold is claimed and read back once per limit, and limits above
 * ~$9,007 were written to `limit_pico` capped at 2^53 - 1 pico-dollars (a safe
 * integer). Rows written before have none: their limit is read from
 * `limit_pico`, and a capped one stands for the budget's limit now when that
 * is above the cap (`LEGACY_CAPPED_LIMIT` in core's `CostTracker/Budgets.ts`).
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE budget_alerts ADD COLUMN limit_pico_exact TEXT`
})
