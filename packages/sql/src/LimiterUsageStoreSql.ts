/**
 * The SQL `LimiterUsageStore` (`limiter_usage`, `limiter_blocks` and
 * `limiter_instances`, SQLite migration 0010, PostgreSQL 0004): the rate
 * limiter's window counts, provider blocks and running instances that
 * several gateway instances share on one database. The same portable SQL on both (upsert on
 * the primary key, `SUM ... GROUP BY`); it runs on this thread's `SqlClient`
 * (a few rows a second, never on the request path). Integer columns and sums
 * come back from PostgreSQL as text and are decoded to numbers.
 */
import { SqlClient, SqlSchema } from "@effect/sql"
import { type LimiterBlock, type LimiterUsage, LimiterUsageStore } from "@modelgate/core/LimiterUsageStore"
import { Effect, Layer, Schema } from "effect"
import { storeErrorOf, writeChunked } from "./internal/recordRows.js"
import { Int, timeBound } from "./internal/sqlInt.js"

/** Rows per INSERT: 7 parameters each, well under SQLite's bound-parameter limit (999 before 3.32). */
const chunkRows = 100

const UsageRow = Schema.Struct({ key: Schema.String, epoch: Int, requests: Int, tokens: Int })

/** A failure of `limiter_usage.<operation>`, naming it. */
const storeError = storeErrorOf("limiter_usage")

/** `usage` with one entry per key and epoch, the last one given (as the memory store keeps it). */
const lastPerBucket = (usage: ReadonlyArray<LimiterUsage>): ReadonlyArray<LimiterUsage> =>
  [...new Map(usage.map((u) => [JSON.stringify([u.key, u.epoch]), u])).values()]

/** Build the SQL limiter usage store on the current `SqlClient` (migrations must have run). */
export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  const upsert = (rows: ReadonlyArray<Record<string, string | number>>) =>
    sql`
      INSERT INTO limiter_usage ${sql.insert(rows)}
      ON CONFLICT (instance, key, bucket_ms, epoch) DO UPDATE SET requests = excluded.requests, tokens = excluded.tokens
    `

  const put = Effect.fn("LimiterUsageStoreSql.put")(
    function* (instance: string, bucketMs: number, usage: ReadonlyArray<LimiterUsage>) {
      const rows = lastPerBucket(usage).map((u) => ({
        instance,
        key: u.key,
        bucket_ms: bucketMs,
        epoch: u.epoch,
        requests: u.requests,
        tokens: u.tokens,
        ends_at: (u.epoch + 1) * bucketMs
      }))
      yield* writeChunked(sql, rows, chunkRows, upsert)
    },
    Effect.mapError(storeError("put"))
  )

  const findOthers = SqlSchema.findAll({
    Request: Schema.Struct({ instance: Schema.String, bucketMs: Schema.Number, fromEpoch: Schema.Number }),
    Result: UsageRow,
    // The `limiter_usage_bucket` index: a range of one bucket length from `fromEpoch`.
    execute: ({ bucketMs, fromEpoch, instance }) => sql`
      SELECT key, epoch, SUM(requests) AS requests, SUM(tokens) AS tokens
      FROM limiter_usage
      WHERE instance <> ${instance} AND bucket_ms = ${bucketMs} AND epoch >= ${Math.ceil(fromEpoch)}
      GROUP BY key, epoch
    `
  })

  const othersSince = Effect.fn("LimiterUsageStoreSql.othersSince")(
    function* (instance: string, bucketMs: number, fromEpoch: number) {
      const rows = yield* findOthers({ instance, bucketMs, fromEpoch })
      return rows.map((r): LimiterUsage => ({ key: r.key, epoch: r.epoch, requests: r.requests, tokens: r.tokens }))
    },
    Effect.mapError(storeError("othersSince"))
  )

  const putBlocks = Effect.fn("LimiterUsageStoreSql.putBlocks")(
    function* (instance: string, blocks: ReadonlyArray<LimiterBlock>) {
      const rows = [...new Map(blocks.map((b) => [b.key, { instance, key: b.key, until: timeBound(b.until) }])).values()]
      yield* writeChunked(
        sql,
        rows,
        chunkRows,
        (chunk) => sql`INSERT INTO limiter_blocks ${sql.insert(chunk)} ON CONFLICT (instance, key) DO UPDATE SET until = excluded.until`
      )
    },
    Effect.mapError(storeError("putBlocks"))
  )

  const findBlocks = SqlSchema.findAll({
    Request: Schema.Struct({ instance: Schema.String, now: Schema.Number }),
    Result: Schema.Struct({ key: Schema.String, until: Int }),
    // The `limiter_blocks_until` index: the blocks still running.
    execute: ({ instance, now }) => sql`
      SELECT key, MAX(until) AS until FROM limiter_blocks
      WHERE instance <> ${instance} AND until > ${Math.floor(now)}
      GROUP BY key
    `
  })

  const othersBlocks = Effect.fn("LimiterUsageStoreSql.othersBlocks")(
    function* (instance: string, now: number) {
      const rows = yield* findBlocks({ instance, now })
      return rows.map((r): LimiterBlock => ({ key: r.key, until: r.until }))
    },
    Effect.mapError(storeError("othersBlocks"))
  )

  const beat = Effect.fn("LimiterUsageStoreSql.beat")(
    function* (instance: string, at: number) {
      yield* sql`
        INSERT INTO limiter_instances ${sql.insert({ instance, seen_at: timeBound(at) })}
        ON CONFLICT (instance) DO UPDATE SET seen_at = excluded.seen_at
      `
    },
    Effect.mapError(storeError("beat"))
  )

  const leave = Effect.fn("LimiterUsageStoreSql.leave")(
    function* (instance: string) {
      yield* sql`DELETE FROM limiter_instances WHERE instance = ${instance}`
    },
    Effect.mapError(storeError("leave"))
  )

  const countRunning = SqlSchema.single({
    Request: Schema.Struct({ instance: Schema.String, since: Schema.Number }),
    Result: Schema.Struct({ running: Int }),
    // A handful of rows, one per instance: no index.
    execute: ({ instance, since }) => sql`
      SELECT COUNT(*) AS running FROM limiter_instances WHERE instance <> ${instance} AND seen_at > ${Math.floor(since)}
    `
  })

  const othersRunning = Effect.fn("LimiterUsageStoreSql.othersRunning")(
    function* (instance: string, since: number) {
      return (yield* countRunning({ instance, since })).running
    },
    Effect.mapError(storeError("othersRunning"))
  )

  const prune = Effect.fn("LimiterUsageStoreSql.prune")(
    function* (before: number) {
      // The `limiter_usage_ends_at` and `limiter_blocks_until` indexes; a bucket that ends at `before` is kept, as in the memory store.
      const buckets = yield* sql`DELETE FROM limiter_usage WHERE ends_at < ${timeBound(before)} RETURNING 1 AS deleted`
      const blocks = yield* sql`DELETE FROM limiter_blocks WHERE until < ${timeBound(before)} RETURNING 1 AS deleted`
      const beats = yield* sql`DELETE FROM limiter_instances WHERE seen_at < ${timeBound(before)} RETURNING 1 AS deleted`
      return buckets.length + blocks.length + beats.length
    },
    Effect.mapError(storeError("prune"))
  )

  return LimiterUsageStore.of({ put, othersSince, putBlocks, othersBlocks, beat, leave, othersRunning, prune })
})

/** The SQL limiter usage store (needs a migrated `SqlClient`, e.g. `Postgres.layer`). */
export const layer: Layer.Layer<LimiterUsageStore, never, SqlClient.SqlClient> = Layer.effect(LimiterUsageStore, make)
