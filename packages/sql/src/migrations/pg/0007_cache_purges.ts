/**
 * The response cache's purges, as SQLite migration 0013 does
 * (`CacheStoreSql`). An identity column for the ids (never used again),
 * BIGINT for `at`. `IF NOT EXISTS`, so a second migrator racing this one
 * changes nothing.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE IF NOT EXISTS cache_purges (
      id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      at BIGINT NOT NULL,
      model TEXT,
      key TEXT
    )
  `
  yield* sql`CREATE INDEX IF NOT EXISTS cache_purges_at ON cache_purges (at)`
})
