/**
 * CacheStore on SQL (`cached_responses`, migration 0003): the ResponseCache's
 * persistent tier. Portable SQL (SQLite 3.35+ and PostgreSQL): upsert,
 * `RETURNING`, window functions for LRU eviction.
 */
import { SqlClient, SqlSchema } from "@effect/sql"
import { CacheStore, type CacheBounds, type CacheEntry } from "@modelgate/core/CacheStore"
import { ChatResponse } from "@modelgate/domain/Chat"
import { StoreError } from "@modelgate/domain/Errors"
import { Effect, Layer, Option, Schema } from "effect"

/** Integers come back as numbers from SQLite and as strings from PostgreSQL BIGINT. */
const Int = Schema.Union(Schema.Number, Schema.NumberFromString)

/** A `cached_responses` row. */
const Row = Schema.Struct({
  key: Schema.String,
  model: Schema.String,
  response: Schema.String,
  bytes: Int,
  created_at: Int,
  expires_at: Int,
  last_access: Int
})

const Totals = Schema.Struct({ entries: Int, bytes: Schema.NullOr(Int) })
const Key = Schema.Struct({ key: Schema.String })
const decodeResponse = Schema.decode(Schema.parseJson(ChatResponse))
const encodeResponse = Schema.encode(Schema.parseJson(ChatResponse))

/** Wrap an SQL or decoding failure of `operation` as a StoreError naming it. */
const storeError =
  (operation: string) =>
  (error: { readonly message: string }): StoreError =>
    new StoreError({ operation: `cache ${operation}`, reason: error.message })

/** Build the store on the provided `SqlClient` (migrations must have run). */
export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  const findRow = SqlSchema.findOne({
    Request: Schema.String,
    Result: Row,
    execute: (key) => sql`SELECT * FROM cached_responses WHERE key = ${key}`
  })

  const deleteKey = (key: string) => sql`DELETE FROM cached_responses WHERE key = ${key}`

  const get = Effect.fn("CacheStoreSql.get")(function* (key: string, now: number) {
    const found = yield* findRow(key)
    if (Option.isNone(found)) return Option.none<CacheEntry>()
    const row = found.value
    if (now >= row.expires_at) {
      yield* deleteKey(key)
      return Option.none<CacheEntry>()
    }
    const response = yield* decodeResponse(row.response)
    yield* sql`UPDATE cached_responses SET last_access = ${now} WHERE key = ${key} AND last_access < ${now}`
    return Option.some<CacheEntry>({
      key: row.key,
      model: row.model,
      response,
      bytes: row.bytes,
      createdAt: row.created_at,
      expiresAt: row.expires_at,
      lastAccess: Math.max(row.last_access, now)
    })
  }, (effect) => Effect.mapError(effect, storeError("read")))

  const set = Effect.fn("CacheStoreSql.set")(function* (entry: CacheEntry) {
    const response = yield* encodeResponse(entry.response)
    yield* sql`
      INSERT INTO cached_responses (key, model, response, bytes, created_at, expires_at, last_access)
      VALUES (${entry.key}, ${entry.model}, ${response}, ${entry.bytes}, ${entry.createdAt}, ${entry.expiresAt}, ${entry.lastAccess})
      ON CONFLICT (key) DO UPDATE SET
        model = excluded.model,
        response = excluded.response,
        bytes = excluded.bytes,
        created_at = excluded.created_at,
        expires_at = excluded.expires_at,
        last_access = excluded.last_access
    `
  }, (effect) => Effect.mapError(effect, storeError("write")))

  const touch = Effect.fn("CacheStoreSql.touch")(function* (keys: ReadonlyArray<string>, now: number) {
    if (keys.length === 0) return
    yield* sql`UPDATE cached_responses SET last_access = ${now} WHERE ${sql.in("key", keys)} AND last_access < ${now}`
  }, (effect) => Effect.mapError(effect, storeError("touch")))

  const remove = Effect.fn("CacheStoreSql.delete")(function* (key: string) {
    yield* deleteKey(key)
  }, (effect) => Effect.mapError(effect, storeError("delete")))

  const sweep = Effect.fn("CacheStoreSql.sweep")(function* (now: number) {
    const removed = yield* sql`DELETE FROM cached_responses WHERE expires_at <= ${now} RETURNING key`
    return removed.length
  }, (effect) => Effect.mapError(effect, storeError("sweep")))

  const totals = SqlSchema.single({
    Request: Schema.Void,
    Result: Totals,
    execute: () => sql`SELECT COUNT(*) AS entries, SUM(bytes) AS bytes FROM cached_responses`
  })

  const victims = SqlSchema.findAll({
    Request: Schema.Struct({ maxEntries: Schema.Number, maxBytes: Schema.Number }),
    Result: Key,
    execute: ({ maxBytes, maxEntries }) => sql`
      DELETE FROM cached_responses WHERE key IN (
        SELECT key FROM (
          SELECT key,
            ROW_NUMBER() OVER (ORDER BY last_access DESC, key ASC) AS position,
            SUM(bytes) OVER (ORDER BY last_access DESC, key ASC ROWS UNBOUNDED PRECEDING) AS running
          FROM cached_responses
        ) ranked
        WHERE position > ${maxEntries} OR running > ${maxBytes}
      )
      RETURNING key
    `
  })

  const evict = Effect.fn("CacheStoreSql.evict")(function* (bounds: CacheBounds) {
    const now = yield* totals(undefined)
    if (now.entries <= bounds.maxEntries && (now.bytes ?? 0) <= bounds.maxBytes) return 0
    const removed = yield* victims(bounds)
    return removed.length
  }, (effect) => Effect.mapError(effect, storeError("evict")))

  const size = totals(undefined).pipe(
    Effect.map((row) => ({ entries: row.entries, bytes: row.bytes ?? 0 })),
    Effect.mapError(storeError("size")),
    Effect.withSpan("CacheStoreSql.size")
  )

  const recentRows = SqlSchema.findAll({
    Request: Schema.Struct({ now: Schema.Number, limit: Schema.Number }),
    Result: Row,
    execute: ({ limit, now }) =>
      sql`SELECT * FROM cached_responses WHERE expires_at > ${now} ORDER BY last_access DESC, key ASC LIMIT ${limit}`
  })

  const recent = Effect.fn("CacheStoreSql.recent")(function* (bounds: CacheBounds, now: number) {
    const rows = yield* recentRows({ now, limit: bounds.maxEntries })
    const out: Array<CacheEntry> = []
    let bytes = 0
    for (const row of rows) {
      if (bytes + row.bytes > bounds.maxBytes) break
      const response = yield* Effect.option(decodeResponse(row.response))
      if (Option.isNone(response)) continue
      bytes += row.bytes
      out.push({
        key: row.key,
        model: row.model,
        response: response.value,
        bytes: row.bytes,
        createdAt: row.created_at,
        expiresAt: row.expires_at,
        lastAccess: row.last_access
      })
    }
    return out
  }, (effect) => Effect.mapError(effect, storeError("recent")))

  return CacheStore.of({ get, set, touch, delete: remove, sweep, evict, recent, size })
})

/** The SQL cache store; needs a migrated `SqlClient` (e.g. `Sqlite.layer(filename)`). */
export const layer: Layer.Layer<CacheStore, never, SqlClient.SqlClient> = Layer.effect(CacheStore, make)
