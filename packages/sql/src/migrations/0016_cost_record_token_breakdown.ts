/**
 * Cost records keep the breakdown of their tokens the cost includes:
 * prompt-cache writes (`cache_write_tokens`, a part of `prompt_tokens`, as
 * `cached_tokens` is) and reasoning (`reasoning_tokens`, a part of
 * `completion_tokens`). Rows written before (or by an earlier version still
 * running) hold 0.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE cost_records ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0`
  yield* sql`ALTER TABLE cost_records ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0`
})
