/**
 * Cached responses: the ResponseCache's persistent tier. (Owned by the
 * accounting issue: ResponseCache.) Times are epoch milliseconds; `bytes` is
 * the UTF-8 size of `response` (JSON). Indexes serve the expiry sweep and LRU
 * eviction (oldest `last_access` first).
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE IF NOT EXISTS cached_responses (
      key TEXT PRIMARY KEY,
      model TEXT NOT NULL,
      response TEXT NOT NULL,
      bytes BIGINT NOT NULL CHECK (bytes >= 0),
      created_at BIGINT NOT NULL,
      expires_at BIGINT NOT NULL,
      last_access BIGINT NOT NULL
    )
  `
  yield* sql`CREATE INDEX IF NOT EXISTS cached_responses_expires_at ON cached_responses (expires_at)`
  yield* sql`CREATE INDEX IF NOT EXISTS cached_responses_last_access ON cached_responses (last_access, key)`
})
