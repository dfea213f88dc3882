/**
 * The response cache's purges (`CacheStore.purge`): one row per purge, of
 * every entry (`model` and `key` NULL), one model's entries or one entry's,
 * at `at` (epoch ms), so the other gateway instances on this database drop
 * the same entries from their memory at their next cache sync. AUTOINCREMENT:
 * an id is never used again after old rows are pruned, so a reader's cursor
 * never passes a new purge. Indexed by `at` for the prune.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE IF NOT EXISTS cache_purges (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      at INTEGER NOT NULL,
      model TEXT,
      key TEXT
    )
  `
  yield* sql`CREATE INDEX IF NOT EXISTS cache_purges_at ON cache_purges (at)`
})
