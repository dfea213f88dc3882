import { assert, describe, it, layer } from "@effect/vitest"
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { CacheStore, type CacheEntry } from "@modelgate/core/CacheStore"
import * as GatewayConfig from "@modelgate/core/GatewayConfig"
import { GatewayConfigData } from "@modelgate/core/GatewayConfigSchema"
import * as ResponseCache from "@modelgate/core/ResponseCache"
import { RecordStore } from "@modelgate/core/RecordStore"
import * as CacheStoreSql from "@modelgate/sql/CacheStoreSql"
import * as RecordStoreSql from "@modelgate/sql/RecordStoreSql"
import * as RecordWorker from "@modelgate/sql/RecordWorker"
import * as Sqlite from "@modelgate/sql/Sqlite"
import type { ChatResponse } from "@modelgate/domain/Chat"
import type { StoreError } from "@modelgate/domain/Errors"
import { Context, Effect, Layer, Option, Schema, TestClock } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type Database, databases, type OpenNeeds, servers, sqlite } from "./databases.js"
import { loopTurnsDuring } from "./eventLoop.js"
import { cost } from "./recordFixtures.js"

const tempDb = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "modelgate-cache-")), "cache.db")

/**
 * The write paths, with the same behavioural tests: on a SQLite file the write
 * worker thread and this thread; on PostgreSQL this thread (what "auto" picks).
 */
const paths: ReadonlyArray<{ readonly name: string; readonly database: Database; readonly thread: CacheStoreSql.WriteThread }> = [
  { name: "SQLite, writing on the worker thread", database: sqlite, thread: "worker" },
  { name: "SQLite, writing on this thread", database: sqlite, thread: "main" },
  ...databases.filter((d) => d !== sqlite).map((database) => ({ name: database.name, database, thread: "auto" as const }))
]

/** A database, opened (again) by building the layer. */
type Opened = Layer.Layer<SqlClient.SqlClient, StoreError, OpenNeeds>

const storeOn = (filename: string, thread: CacheStoreSql.WriteThread = "auto") =>
  storeIn(Sqlite.layer(filename), thread).pipe(Layer.provide(NodeContext.layer))

const storeIn = (database: Opened, thread: CacheStoreSql.WriteThread = "auto") =>
  CacheStoreSql.layerWith({ thread }).pipe(Layer.orDie, Layer.provideMerge(Layer.orDie(database)))

const answer = (content: string): ChatResponse => ({
  id: `chatcmpl-${content}`,
  object: "chat.completion",
  created: 1_700_000_000,
  model: "gpt-4o-mini",
  choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
  usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 }
})

const entry = (key: string, lastAccess: number, bytes = 100, expiresAt = 1_000_000): CacheEntry => ({
  key,
  model: "gpt-4o-mini",
  response: answer(key),
  bytes,
  createdAt: 0,
  expiresAt,
  lastAccess
})

const withStoreIn =
  (thread: CacheStoreSql.WriteThread) =>
  <A, E>(database: Opened, f: (store: CacheStore["Type"], sql: SqlClient.SqlClient) => Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    const context = yield* Layer.build(storeIn(database, thread))
    return yield* f(Context.get(context, CacheStore), Context.get(context, SqlClient.SqlClient))
  }).pipe(Effect.scoped)

const withStoreOn =
  (thread: CacheStoreSql.WriteThread) =>
  <A, E>(filename: string, f: (store: CacheStore["Type"], sql: SqlClient.SqlClient) => Effect.Effect<A, E>) =>
    withStoreIn(thread)(Sqlite.layer(filename), f).pipe(Effect.provide(NodeContext.layer))

layer(servers, { timeout: 60_000 })("CacheStoreSql", (it) => {
  for (const { database, name, thread } of paths) {
    describe(`on ${name}`, () => {
      /** `f` on the store on a new database of this test. */
      const withStore = <A, E>(f: (store: CacheStore["Type"], sql: SqlClient.SqlClient) => Effect.Effect<A, E>) =>
        Effect.scoped(Effect.flatMap(database.create, (db) => withStoreIn(thread)(db, f)))

      it.effect("round-trips an entry, replaces on the same key, and bumps last access on read", () =>
        withStore((store, sql) =>
          Effect.gen(function* () {
            yield* store.set(entry("k", 10))
            yield* store.set({ ...entry("k", 10), response: answer("replaced") })
            const read = yield* store.get("k", 20)
            assert.deepStrictEqual(Option.map(read, (e) => e.response), Option.some(answer("replaced")))
            const rows = yield* sql<{ last_access: number | string }>`SELECT last_access FROM cached_responses WHERE key = 'k'`
            assert.strictEqual(Number(rows[0]?.last_access), 20)
            assert.deepStrictEqual(yield* store.size, { entries: 1, bytes: 100 })
            assert.isTrue(Option.isNone(yield* store.get("missing", 20)))
          })
        ))

      it.effect("setAll writes many entries as one write, in order (a later entry under the same key wins)", () =>
        withStore((store) =>
          Effect.gen(function* () {
            const many = Array.from({ length: 300 }, (_, i) => entry(`k${i}`, i, 10))
            yield* store.setAll([...many, { ...entry("k0", 0, 10), response: answer("last") }])
            assert.deepStrictEqual(yield* store.size, { entries: 300, bytes: 3_000 })
            assert.deepStrictEqual(Option.map(yield* store.get("k0", 1), (e) => e.response), Option.some(answer("last")))
            assert.deepStrictEqual(Option.map(yield* store.get("k299", 1), (e) => e.response), Option.some(answer("k299")))
            yield* store.setAll([])
            assert.strictEqual((yield* store.size).entries, 300)
          })
        ))

      it.effect("deletes an expired entry on read and sweeps expired ones", () =>
        withStore((store) =>
          Effect.gen(function* () {
            yield* store.set(entry("a", 0, 10, 100))
            yield* store.set(entry("b", 0, 10, 200))
            yield* store.set(entry("c", 0, 10, 300))
            assert.isTrue(Option.isNone(yield* store.get("a", 100)))
            assert.strictEqual((yield* store.size).entries, 2)
            assert.strictEqual(yield* store.sweep(250), 1)
            assert.deepStrictEqual(yield* store.size, { entries: 1, bytes: 10 })
          })
        ))

      it.effect("evicts least recently used rows by count and by bytes", () =>
        withStore((store) =>
          Effect.gen(function* () {
            for (let i = 0; i < 6; i++) yield* store.set(entry(`k${i}`, i, 100))
            yield* store.touch(["k0"], 10)
            assert.strictEqual(yield* store.evict({ maxEntries: 4, maxBytes: 10_000 }), 2)
            for (const gone of ["k1", "k2"]) assert.isTrue(Option.isNone(yield* store.get(gone, 11)), gone)
            assert.strictEqual(yield* store.evict({ maxEntries: 100, maxBytes: 250 }), 2)
            const left = yield* store.size
            assert.deepStrictEqual(left, { entries: 2, bytes: 200 })
            assert.strictEqual(yield* store.evict({ maxEntries: 2, maxBytes: 200 }), 0)
          })
        ))

      it.effect("purge: deletes one model's, one key's or every entry and logs each purge for the other instances, in order", () =>
        withStore((store) =>
          Effect.gen(function* () {
            const opus = (key: string): CacheEntry => ({ ...entry(key, 1), model: "claude-opus-4-5" })
            yield* store.setAll([entry("m1", 1), entry("m2", 1), opus("o1"), opus("o2")])
            assert.strictEqual(yield* store.lastPurgeId!, 0)
            const first = yield* store.purge!({ model: "gpt-4o-mini" }, 100)
            assert.strictEqual(first.deleted, 2)
            assert.deepStrictEqual(yield* store.size, { entries: 2, bytes: 200 })
            const second = yield* store.purge!({ key: "o1" }, 200)
            assert.strictEqual(second.deleted, 1)
            assert.isTrue(Option.isSome(yield* store.get("o2", 201)))
            assert.isAbove(second.id, first.id)
            assert.strictEqual(yield* store.lastPurgeId!, second.id)
            const third = yield* store.purge!({}, 300)
            assert.strictEqual(third.deleted, 1)
            assert.strictEqual((yield* store.size).entries, 0)
            assert.deepStrictEqual(yield* store.purgesAfter!(first.id), [
              { id: second.id, model: undefined, key: "o1" },
              { id: third.id, model: undefined, key: undefined }
            ])
            // A purge logged more than a day after the others prunes them from the log.
            const later = yield* store.purge!({ model: "gpt-4o-mini" }, 301 + 24 * 3_600_000)
            assert.deepStrictEqual(yield* store.purgesAfter!(0), [{ id: later.id, model: "gpt-4o-mini", key: undefined }])
          })
        ))

      it.effect("recent: the live entries, most recently used first, within the bounds", () =>
        withStore((store) =>
          Effect.gen(function* () {
            yield* store.set(entry("old", 1))
            yield* store.set(entry("new", 3))
            yield* store.set(entry("mid", 2))
            yield* store.set(entry("expired", 4, 100, 5))
            const all = yield* store.recent({ maxEntries: 10, maxBytes: 10_000 }, 10)
            assert.deepStrictEqual(all.map((e) => e.key), ["new", "mid", "old"])
            const two = yield* store.recent({ maxEntries: 2, maxBytes: 10_000 }, 10)
            assert.deepStrictEqual(two.map((e) => e.key), ["new", "mid"])
            const bytes = yield* store.recent({ maxEntries: 10, maxBytes: 250 }, 10)
            assert.deepStrictEqual(bytes.map((e) => e.key), ["new", "mid"])
          })))

      it.scoped("keeps entries across a restart (same database)", () =>
        Effect.gen(function* () {
          const db = yield* database.create
          yield* withStoreIn(thread)(db, (store) => store.set(entry("persisted", 1)))
          const read = yield* withStoreIn(thread)(db, (store) => store.get("persisted", 2))
          assert.deepStrictEqual(Option.map(read, (e) => e.response), Option.some(answer("persisted")))
        }))

      const config = Schema.decodeUnknownSync(GatewayConfigData)({ cache: { ttlMs: 60_000, maxEntries: 2 } })
      const cacheOn = (db: Opened) =>
        ResponseCache.layer.pipe(Layer.provideMerge(storeIn(db, thread)), Layer.provide(GatewayConfig.layerStatic(config)))

      it.scoped("ResponseCache: a cached answer survives a restart and is served from SQL, then expires by TTL", () =>
        Effect.gen(function* () {
          const file = yield* database.create
          yield* Effect.gen(function* () {
            const cache = Context.get(yield* Layer.build(cacheOn(file)), ResponseCache.ResponseCache)
            yield* cache.set("k", answer("from sql"))
          }).pipe(Effect.scoped)
          yield* Effect.gen(function* () {
            const cache = Context.get(yield* Layer.build(cacheOn(file)), ResponseCache.ResponseCache)
            assert.deepStrictEqual(yield* cache.get("k"), Option.some(answer("from sql")))
            yield* TestClock.adjust(60_000)
            assert.isTrue(Option.isNone(yield* cache.get("k")))
          }).pipe(Effect.scoped)
        }))

      it.scoped("ResponseCache: applies the LRU bounds to the SQL table too", () =>
        Effect.gen(function* () {
          const file = yield* database.create
          const { cache, store } = yield* Effect.map(Layer.build(cacheOn(file)), (context) => ({
            cache: { ...Context.get(context, ResponseCache.ResponseCache), ...Context.get(context, ResponseCache.CacheControl) },
            store: Context.get(context, CacheStore)
          }))
          for (const key of ["a", "b", "c"]) {
            yield* cache.set(key, answer(key))
            yield* TestClock.adjust(1)
          }
          yield* cache.flush
          assert.strictEqual((yield* store.size).entries, 2)
          assert.isTrue(Option.isNone(yield* store.get("a", 10)))
        }))
    })
  }
})

describe("CacheStoreSql on SQLite only", () => {
  it.effect("creates cached_responses with its expiry and LRU indexes", () =>
    withStoreOn("main")(tempDb(), (_, sql) =>
      Effect.gen(function* () {
        const columns = yield* sql<{ name: string }>`SELECT name FROM pragma_table_info('cached_responses')`
        assert.deepStrictEqual(columns.map((c) => c.name).sort(), ["bytes", "created_at", "expires_at", "key", "last_access", "model", "response"])
        const indexes = yield* sql<{ name: string }>`SELECT name FROM pragma_index_list('cached_responses')`
        const names = indexes.map((i) => i.name)
        assert.include(names, "cached_responses_expires_at")
        assert.include(names, "cached_responses_last_access")
      })
    ))

  it.live("on the worker, the event loop keeps turning while a large eviction is written", () =>
    withStoreOn("worker")(tempDb(), (store, sql) =>
      Effect.gen(function* () {
        yield* sql`
          WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
          INSERT INTO cached_responses (key, model, response, bytes, created_at, expires_at, last_access)
          SELECT 'k' || i, 'm', '{}', 10, 0, 1000000, i FROM n
        `
        const [evicted, turns] = yield* loopTurnsDuring(store.evict({ maxEntries: 10, maxBytes: 1_000_000 }))
        assert.strictEqual(evicted, 19_990)
        assert.isAbove(turns, 5, "the main thread ran other work during the write")
      })
    ))

  it.scoped("auto: :memory: writes on this thread; a file's cache and record stores share one worker thread", () =>
    Effect.gen(function* () {
      const memory = Context.get(yield* Layer.build(storeOn(":memory:")), CacheStore)
      yield* memory.set(entry("m", 1))
      assert.strictEqual((yield* memory.size).entries, 1)

      const file = yield* Layer.build(
        Layer.mergeAll(CacheStoreSql.layer, RecordStoreSql.layer).pipe(Layer.provideMerge(Sqlite.layer(tempDb())), Layer.provide(NodeContext.layer))
      )
      yield* Context.get(file, CacheStore).set(entry("f", 1))
      yield* Context.get(file, RecordStore).writeBatch([cost(1)])
      const worker = yield* Context.get(file, RecordWorker.SharedRecordWorker).get
      assert.strictEqual(yield* worker.threadsStarted, 1)
      assert.strictEqual(yield* Context.get(file, CacheStore).size.pipe(Effect.map((s) => s.entries)), 1)
    }))

  it.scoped("thread \"worker\" on :memory: is a StoreError saying a worker cannot share it", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Layer.build(CacheStoreSql.layerWith({ thread: "worker" }).pipe(Layer.provide(Sqlite.layer(":memory:"))))
      )
      assert.strictEqual(error.operation, "cache.worker")
      assert.include(error.reason, "in-memory")
    }).pipe(Effect.provide(NodeContext.layer)))
})
