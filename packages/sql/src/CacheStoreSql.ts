/**
 * CacheStore on SQL (`cached_responses`, migration 0003): the ResponseCache's
 * persistent tier. Portable SQL (SQLite 3.35+ and PostgreSQL): upsert,
 * `RETURNING`, window functions for LRU eviction (`internal/cacheRows.ts`).
 *
 * On a SQLite file every write (set, touch, delete, sweep, evict, and the
 * expiry delete and last-access bump of `get`) runs on the write worker thread
 * that the record store also uses, so a write and its fsync never block the
 * event loop; reads (`get`, `recent`, `size`: at start and admin time, never on
 * the request path) use this thread's connection, which WAL lets read while
 * the worker writes. On `:memory:`, another SQL database, or `thread: "main"`,
 * everything runs on this thread's `SqlClient`.
 */
import { SqlClient, SqlSchema } from "@effect/sql"
import { CacheStore, type CacheBounds, type CacheEntry, type CachePurge, type LoggedPurge } from "@modelgate/core/CacheStore"
import { ChatResponse } from "@modelgate/domain/Chat"
import { StoreError } from "@modelgate/domain/Errors"
import { Effect, Layer, Option, Schema } from "effect"
import * as CacheRows from "./internal/cacheRows.js"
import { describeSqlError } from "./internal/recordRows.js"
import { chooseWorker, type WriteThread as WriteThreadType } from "./internal/writeThread.js"
import type * as RecordWorker from "./RecordWorker.js"

const decodeResponse = Schema.decode(Schema.parseJson(ChatResponse))
const encodeResponse = Schema.encode(Schema.parseJson(ChatResponse))

/** Wrap an SQL or decoding failure of `operation` as a StoreError naming it. */
const storeError =
  (operation: string) =>
  (error: { readonly message: string; readonly cause?: unknown }): StoreError =>
    new StoreError({ operation: `cache ${operation}`, reason: describeSqlError(error) })

/** The cache store's writes on this thread's `SqlClient`. */
const mainWrites = (sql: SqlClient.SqlClient): RecordWorker.CacheWrites => ({
  set: (rows) => Effect.mapError(CacheRows.upsertAll(sql, rows), storeError("write")),
  touch: (keys, now) => Effect.mapError(CacheRows.touch(sql, keys, now), storeError("touch")),
  delete: (key) => Effect.mapError(CacheRows.remove(sql, key), storeError("delete")),
  purge: (purge, at) => Effect.mapError(CacheRows.purge(sql, purge, at), storeError("purge")),
  sweep: (now) => Effect.mapError(CacheRows.sweep(sql, now), storeError("sweep")),
  evict: (bounds) => Effect.mapError(CacheRows.evict(sql, bounds), storeError("evict"))
})

const toEntry = (row: CacheRows.CacheRow, response: ChatResponse, lastAccess: number): CacheEntry => ({
  key: row.key,
  model: row.model,
  response,
  bytes: row.bytes,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  lastAccess
})

/** Build the store: reads on the provided `SqlClient` (migrations must have run), writes through `writes`. */
export const makeWith = (writes: RecordWorker.CacheWrites) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const findRow = SqlSchema.findOne({
      Request: Schema.String,
      Result: CacheRows.CacheRow,
      execute: (key) => sql`SELECT * FROM cached_responses WHERE key = ${key}`
    })

    const get = Effect.fn("CacheStoreSql.get")(function* (key: string, now: number) {
      const found = yield* Effect.mapError(findRow(key), storeError("read"))
      if (Option.isNone(found)) return Option.none<CacheEntry>()
      const row = found.value
      if (now >= row.expires_at) {
        yield* writes.delete(key)
        return Option.none<CacheEntry>()
      }
      const response = yield* Effect.mapError(decodeResponse(row.response), storeError("read"))
      yield* writes.touch([key], now)
      return Option.some(toEntry(row, response, Math.max(row.last_access, now)))
    })

    const toRow = (entry: CacheEntry) =>
      Effect.map(Effect.mapError(encodeResponse(entry.response), storeError("write")), (response): CacheRows.CacheRow => ({
        key: entry.key,
        model: entry.model,
        response,
        bytes: entry.bytes,
        created_at: entry.createdAt,
        expires_at: entry.expiresAt,
        last_access: entry.lastAccess
      }))

    const setAll = Effect.fn("CacheStoreSql.setAll")(function* (entries: ReadonlyArray<CacheEntry>) {
      yield* writes.set(yield* Effect.forEach(entries, toRow))
    })

    const set = (entry: CacheEntry) => setAll([entry])

    const touch = Effect.fn("CacheStoreSql.touch")(function* (keys: ReadonlyArray<string>, now: number) {
      yield* writes.touch(keys, now)
    })

    const remove = Effect.fn("CacheStoreSql.delete")(function* (key: string) {
      yield* writes.delete(key)
    })

    const sweep = Effect.fn("CacheStoreSql.sweep")(function* (now: number) {
      return yield* writes.sweep(now)
    })

    const evict = Effect.fn("CacheStoreSql.evict")(function* (bounds: CacheBounds) {
      return yield* writes.evict(bounds)
    })

    const size = CacheRows.totals(sql).pipe(Effect.mapError(storeError("size")), Effect.withSpan("CacheStoreSql.size"))

    const recentRows = SqlSchema.findAll({
      Request: Schema.Struct({ now: Schema.Number, limit: Schema.Number }),
      Result: CacheRows.CacheRow,
      execute: ({ limit, now }) =>
        sql`SELECT * FROM cached_responses WHERE expires_at > ${now} ORDER BY last_access DESC, key ASC LIMIT ${limit}`
    })

    const recent = Effect.fn("CacheStoreSql.recent")(function* (bounds: CacheBounds, now: number) {
      const rows = yield* Effect.mapError(recentRows({ now, limit: bounds.maxEntries }), storeError("recent"))
      const out: Array<CacheEntry> = []
      let bytes = 0
      for (const row of rows) {
        if (bytes + row.bytes > bounds.maxBytes) break
        const response = yield* Effect.option(decodeResponse(row.response))
        if (Option.isNone(response)) continue
        bytes += row.bytes
        out.push(toEntry(row, response.value, row.last_access))
      }
      return out
    })

    const usedSinceRows = SqlSchema.findAll({
      Request: Schema.Struct({ from: Schema.Number, now: Schema.Number, limit: Schema.Number }),
      Result: CacheRows.CacheRow,
      // The `cached_responses_last_access` index: a range from `from`.
      execute: ({ from, limit, now }) =>
        sql`SELECT * FROM cached_responses WHERE last_access >= ${from} AND expires_at > ${now} ORDER BY last_access DESC, key ASC LIMIT ${limit}`
    })

    const usedSince = Effect.fn("CacheStoreSql.usedSince")(function* (from: number, now: number, limit: number) {
      const rows = yield* Effect.mapError(usedSinceRows({ from: Math.ceil(from), now, limit }), storeError("usedSince"))
      const out: Array<CacheEntry> = []
      for (const row of rows) {
        const response = yield* Effect.option(decodeResponse(row.response))
        if (Option.isSome(response)) out.push(toEntry(row, response.value, row.last_access))
      }
      return out
    })

    const purge = (filter: CachePurge, at: number) => writes.purge({ model: filter.model ?? null, key: filter.key ?? null }, at)

    const purgesAfter = (after: number) =>
      CacheRows.purgesAfter(sql, after).pipe(
        Effect.map((rows) => rows.map((row): LoggedPurge => ({ id: row.id, model: row.model ?? undefined, key: row.key ?? undefined }))),
        Effect.mapError(storeError("purges"))
      )

    const lastPurgeId = Effect.mapError(CacheRows.lastPurgeId(sql), storeError("purges"))

    return CacheStore.of({ get, set, setAll, touch, delete: remove, sweep, evict, recent, size, usedSince, purge, purgesAfter, lastPurgeId })
  })

/** Build the store on the provided `SqlClient` (migrations must have run), reading and writing on this thread. */
export const make = Effect.flatMap(SqlClient.SqlClient, (sql) => makeWith(mainWrites(sql)))

/** Where writes run: `"worker"`, `"main"` or `"auto"` (as `RecordStoreSql.WriteThread`). */
export type WriteThread = WriteThreadType

/**
 * The SQL cache store writing on `thread`:
 * `"auto"` writes on the shared worker thread for a SQLite file of
 * `Sqlite.layer`, on this thread otherwise. Needs a migrated `SqlClient`.
 */
export const layerWith = (options: { readonly thread: WriteThread }): Layer.Layer<CacheStore, StoreError, SqlClient.SqlClient> =>
  Layer.scoped(
    CacheStore,
    Effect.flatMap(
      chooseWorker(options.thread, "cache.worker"),
      Option.match({ onNone: () => make, onSome: (worker) => makeWith(worker.cache) })
    )
  )

/**
 * The SQL cache store (needs a migrated `SqlClient`, e.g. `Sqlite.layer(filename)`):
 * writes on the worker thread for a SQLite file, on this thread otherwise. A
 * worker that cannot start is a defect of the layer, with its reason.
 */
export const layer: Layer.Layer<CacheStore, never, SqlClient.SqlClient> = layerWith({ thread: "auto" }).pipe(Layer.orDie)

/** The SQL cache store, always reading and writing on this thread (needs a migrated `SqlClient`). */
export const layerMain: Layer.Layer<CacheStore, never, SqlClient.SqlClient> = Layer.effect(CacheStore, make)
