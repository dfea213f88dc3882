/**
 * The rate limiter's window counts, provider blocks and running instances as
 * each gateway instance shares them, as SQLite migration 0010 does (`LimiterUsageStoreSql`). BIGINT throughout: the
 * epochs of 1 s buckets are ~1.8e9 and `ends_at` is epoch ms. `IF NOT
 * EXISTS`, so a second migrator racing this one changes nothing.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE IF NOT EXISTS limiter_usage (
      instance TEXT NOT NULL,
      key TEXT NOT NULL,
      bucket_ms BIGINT NOT NULL,
      epoch BIGINT NOT NULL,
      requests BIGINT NOT NULL,
      tokens BIGINT NOT NULL,
      ends_at BIGINT NOT NULL,
      PRIMARY KEY (instance, key, bucket_ms, epoch)
    )
  `
  yield* sql`CREATE INDEX IF NOT EXISTS limiter_usage_bucket ON limiter_usage (bucket_ms, epoch)`
  yield* sql`CREATE INDEX IF NOT EXISTS limiter_usage_ends_at ON limiter_usage (ends_at)`
  yield* sql`
    CREATE TABLE IF NOT EXISTS limiter_blocks (
      instance TEXT NOT NULL,
      key TEXT NOT NULL,
      until BIGINT NOT NULL,
      PRIMARY KEY (instance, key)
    )
  `
  yield* sql`CREATE INDEX IF NOT EXISTS limiter_blocks_until ON limiter_blocks (until)`
  yield* sql`
    CREATE TABLE IF NOT EXISTS limiter_instances (
      instance TEXT PRIMARY KEY,
      seen_at BIGINT NOT NULL
    )
  `
})
