/**
 * The writes of the SQL cache store (`cached_responses`), one place for both
 * paths: this thread's `SqlClient` and the record worker thread's. Portable
 * SQL (SQLite 3.35+ and PostgreSQL): upsert, `RETURNING`, window functions for
 * LRU eviction. Imports nothing from modelgate, so the worker thread loads
 * only this.
 */
import type { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, type ParseResult, Schema } from "effect"
import { transaction } from "./recordRows.js"
import { Int } from "./sqlInt.js"

/** A `cached_responses` row; `response` is the response's JSON. */
export const CacheRow = Schema.Struct({
  key: Schema.String,
  model: Schema.String,
  response: Schema.String,
  bytes: Int,
  created_at: Int,
  expires_at: Int,
  last_access: Int
})
/** A `cached_responses` row. */
export type CacheRow = typeof CacheRow.Type

/** LRU bounds: at most this many entries and bytes stay. */
export const CacheBounds = Schema.Struct({ maxEntries: Schema.Number, maxBytes: Schema.Number })

const Totals = Schema.Struct({ entries: Int, bytes: Schema.NullOr(Int) })
const decodeTotals = Schema.decodeUnknown(Totals)

/** Insert or replace the row under its key. */
export const upsert = (sql: SqlClient.SqlClient, row: CacheRow): Effect.Effect<void, SqlError> =>
  Effect.asVoid(sql`
    INSERT INTO cached_responses (key, model, response, bytes, created_at, expires_at, last_access)
    VALUES (${row.key}, ${row.model}, ${row.response}, ${row.bytes}, ${row.created_at}, ${row.expires_at}, ${row.last_access})
    ON CONFLICT (key) DO UPDATE SET
      model = excluded.model,
      response = excluded.response,
      bytes = excluded.bytes,
      created_at = excluded.created_at,
      expires_at = excluded.expires_at,
      last_access = excluded.last_access
  `)

/** Insert or replace every row, in order, in one transaction. */
export const upsertAll = (sql: SqlClient.SqlClient, rows: ReadonlyArray<CacheRow>): Effect.Effect<void, SqlError> =>
  transaction(sql, Effect.forEach(rows, (row) => upsert(sql, row), { discard: true }))

/** Mark `keys` as used at `now` (never moving a last access back). */
export const touch = (sql: SqlClient.SqlClient, keys: ReadonlyArray<string>, now: number): Effect.Effect<void, SqlError> =>
  keys.length === 0
    ? Effect.void
    : Effect.asVoid(sql`UPDATE cached_responses SET last_access = ${now} WHERE ${sql.in("key", keys)} AND last_access < ${now}`)

/** Delete the row under `key`. */
export const remove = (sql: SqlClient.SqlClient, key: string): Effect.Effect<void, SqlError> =>
  Effect.asVoid(sql`DELETE FROM cached_responses WHERE key = ${key}`)

/** Delete every row expired at `now`; how many. */
export const sweep = (sql: SqlClient.SqlClient, now: number): Effect.Effect<number, SqlError> =>
  Effect.map(sql`DELETE FROM cached_responses WHERE expires_at <= ${now} RETURNING key`, (rows) => rows.length)

/** What a purge covers: every row, one model's, one key's (a null field narrows nothing). */
export const CachePurge = Schema.Struct({ model: Schema.NullOr(Schema.String), key: Schema.NullOr(Schema.String) })
/** What a purge covers. */
export type CachePurge = typeof CachePurge.Type

/** A logged purge (`cache_purges`). */
export const LoggedPurge = Schema.Struct({ id: Int, model: Schema.NullOr(Schema.String), key: Schema.NullOr(Schema.String) })
const decodePurges = Schema.decodeUnknown(Schema.Array(LoggedPurge))
const decodeId = Schema.decodeUnknown(Schema.Struct({ id: Int }))

/** How long logged purges are kept: far longer than any instance takes to read them (pruned as purges are logged). */
const purgeLogMs = 24 * 3_600_000

/**
 * Delete the rows `purge` covers and log the purge at `at` (pruning the log
 * of purges older than a day), in one transaction: how many rows went, and
 * the purge's id. On PostgreSQL the log is locked first (plain reads go on),
 * so purges commit in the order of their ids: a purge slow to commit cannot
 * let a later one be read first, and a reader's cursor (`purgesAfter`) pass
 * it. SQLite runs one write at a time anyway.
 */
export const purge = (
  sql: SqlClient.SqlClient,
  purge: CachePurge,
  at: number
): Effect.Effect<{ readonly deleted: number; readonly id: number }, SqlError | ParseResult.ParseError> => {
  const covered = [
    ...(purge.model === null ? [] : [sql`model = ${purge.model}`]),
    ...(purge.key === null ? [] : [sql`key = ${purge.key}`])
  ]
  return transaction(
    sql,
    Effect.gen(function* () {
      yield* sql.onDialectOrElse({ pg: () => sql`LOCK TABLE cache_purges IN EXCLUSIVE MODE`, orElse: () => Effect.void })
      const deleted = yield* sql`DELETE FROM cached_responses WHERE ${sql.and(covered)} RETURNING key`
      yield* sql`DELETE FROM cache_purges WHERE at < ${at - purgeLogMs}`
      const logged = yield* sql`INSERT INTO cache_purges (at, model, key) VALUES (${at}, ${purge.model}, ${purge.key}) RETURNING id`
      const { id } = yield* decodeId(logged[0])
      return { deleted: deleted.length, id }
    })
  )
}

/** The purges logged after the one of id `after`, oldest first (at most 1000). */
export const purgesAfter = (
  sql: SqlClient.SqlClient,
  after: number
): Effect.Effect<ReadonlyArray<typeof LoggedPurge.Type>, SqlError | ParseResult.ParseError> =>
  Effect.flatMap(sql`SELECT id, model, key FROM cache_purges WHERE id > ${after} ORDER BY id LIMIT 1000`, decodePurges)

/** The id of the last purge logged (0: none). */
export const lastPurgeId = (sql: SqlClient.SqlClient): Effect.Effect<number, SqlError | ParseResult.ParseError> =>
  Effect.map(Effect.flatMap(sql`SELECT COALESCE(MAX(id), 0) AS id FROM cache_purges`, (rows) => decodeId(rows[0])), (row) => row.id)

/** Entry count and total bytes. */
export const totals = (
  sql: SqlClient.SqlClient
): Effect.Effect<{ readonly entries: number; readonly bytes: number }, SqlError | ParseResult.ParseError> =>
  sql`SELECT COUNT(*) AS entries, SUM(bytes) AS bytes FROM cached_responses`.pipe(
    Effect.flatMap((rows) => decodeTotals(rows[0])),
    Effect.map((row) => ({ entries: row.entries, bytes: row.bytes ?? 0 }))
  )

/** Delete least recently used rows (ties by key) until both bounds hold; how many. */
export const evict = (
  sql: SqlClient.SqlClient,
  bounds: typeof CacheBounds.Type
): Effect.Effect<number, SqlError | ParseResult.ParseError> =>
  Effect.gen(function* () {
    const now = yield* totals(sql)
    if (now.entries <= bounds.maxEntries && now.bytes <= bounds.maxBytes) return 0
    const removed = yield* sql`
      DELETE FROM cached_responses WHERE key IN (
        SELECT key FROM (
          SELECT key,
            ROW_NUMBER() OVER (ORDER BY last_access DESC, key ASC) AS position,
            SUM(bytes) OVER (ORDER BY last_access DESC, key ASC ROWS UNBOUNDED PRECEDING) AS running
          FROM cached_responses
        ) ranked
        WHERE position > ${bounds.maxEntries} OR running > ${bounds.maxBytes}
      )
      RETURNING key
    `
    return removed.length
  })
