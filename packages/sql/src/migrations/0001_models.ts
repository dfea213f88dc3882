/**
 * Model overrides: models added or updated at run time, on top of `config/models.json`.
 * (Owned by the foundation issue.)
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE IF NOT EXISTS model_overrides (
      id TEXT PRIMARY KEY,
      kind TEXT NOT NULL CHECK (kind IN ('add', 'update')),
      body TEXT NOT NULL,
      updated_at INTEGER NOT NULL
    )
  `
})
