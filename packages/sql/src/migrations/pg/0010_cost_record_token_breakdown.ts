/**
 * Cost records keep the breakdown of their tokens the cost includes, as
 * SQLite migration 0016 does: prompt-cache writes (`cache_write_tokens`, a
 * part of `prompt_tokens`) and reasoning (`reasoning_tokens`, a part of
 * `completion_tokens`). Rows written before (or by an instance of an earlier
 * version still running) hold 0. `IF NOT EXISTS`, so a second migrator
 * racing this one changes nothing.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE cost_records ADD COLUMN IF NOT EXISTS cache_write_tokens BIGINT NOT NULL DEFAULT 0`
  yield* sql`ALTER TABLE cost_records ADD COLUMN IF NOT EXISTS reasoning_tokens BIGINT NOT NULL DEFAULT 0`
})
