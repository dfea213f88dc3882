/**
 * The rate limiter's window counts as each gateway instance shares them
 * (`LimiterUsageStore`, `LimiterUsageStoreSql`): one row per instance, limiter
 * key and bucket (`epoch` numbers the `bucket_ms` slices of time), replaced by
 * the instance's next write of it. `ends_at` is the bucket's end in epoch ms,
 * `(epoch + 1) * bucket_ms`. Indexes serve reading the others' buckets of one
 * length from an epoch on, and pruning the buckets that ended.
 * `limiter_blocks`: the provider blocks (0 remaining, a 429) each instance
 * learned, one row per instance and key, `until` in epoch ms.
 * `limiter_instances`: when each instance last said it runs (`seen_at`,
 * epoch ms): how many share a limit.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE IF NOT EXISTS limiter_usage (
      instance TEXT NOT NULL,
      key TEXT NOT NULL,
      bucket_ms INTEGER NOT NULL,
      epoch INTEGER NOT NULL,
      requests INTEGER NOT NULL,
      tokens INTEGER NOT NULL,
      ends_at INTEGER NOT NULL,
      PRIMARY KEY (instance, key, bucket_ms, epoch)
    )
  `
  yield* sql`CREATE INDEX IF NOT EXISTS limiter_usage_bucket ON limiter_usage (bucket_ms, epoch)`
  yield* sql`CREATE INDEX IF NOT EXISTS limiter_usage_ends_at ON limiter_usage (ends_at)`
  yield* sql`
    CREATE TABLE IF NOT EXISTS limiter_blocks (
      instance TEXT NOT NULL,
      key TEXT NOT NULL,
      until INTEGER NOT NULL,
      PRIMARY KEY (instance, key)
    )
  `
  yield* sql`CREATE INDEX IF NOT EXISTS limiter_blocks_until ON limiter_blocks (until)`
  yield* sql`
    CREATE TABLE IF NOT EXISTS limiter_instances (
      instance TEXT PRIMARY KEY,
      seen_at INTEGER NOT NULL
    )
  `
})
