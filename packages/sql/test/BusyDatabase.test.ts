/**
 * Another connection holds a lock on the database file while a batch is
 * written: a second `modelgate serve` on the same file, a backup, the sqlite3
 * shell.
 *
 * SQLite keeps a transaction open when its COMMIT fails with SQLITE_BUSY, and
 * @effect/sql issues no ROLLBACK after a failed COMMIT. Left so, the
 * connection stays inside the transaction: a later write on it joins that
 * transaction (acknowledged, never committed), the next BEGIN fails ("cannot
 * start a transaction within a transaction"), and the open transaction keeps
 * the file locked for every other process.
 *
 * - Under WAL, the mode of every connection that `Sqlite.layer` and the write
 *   worker open, a COMMIT waits on no lock: the write lock is taken by the
 *   batch's first INSERT and held until COMMIT. SQLITE_BUSY comes at that
 *   INSERT (after `busy_timeout`), the batch fails whole, nothing of it is
 *   written, and the writer's retry writes it once.
 * - In rollback-journal mode (a host's own `SqliteClient` with `disableWAL`
 *   under `RecordStoreSql.layerMain`) any reader blocks a COMMIT; the
 *   transaction helper rolls the transaction back, so there too the batch
 *   fails whole and the connection is free.
 */
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { assert, describe, it } from "@effect/vitest"
import * as Events from "@modelgate/core/Events"
import * as GatewayConfig from "@modelgate/core/GatewayConfig"
import { defaultConfig, GatewayConfigData, RecordsConfig } from "@modelgate/core/GatewayConfigSchema"
import { RecordSink } from "@modelgate/core/RecordSink"
import { RecordStore } from "@modelgate/core/RecordStore"
import { RecordWriter } from "@modelgate/core/RecordWriter"
import * as RecordStoreSql from "@modelgate/sql/RecordStoreSql"
import * as RecordWorker from "@modelgate/sql/RecordWorker"
import * as Sqlite from "@modelgate/sql/Sqlite"
import Database from "better-sqlite3"
import { Chunk, Clock, Context, Effect, Fiber, Layer, Stream, TestClock } from "effect"
import { cost, performance, tempFile } from "./recordFixtures.js"

/** How long the store's connections wait for another connection's lock here (ms). */
const busyMs = 20

/** Another connection to `filename` (to SQLite's locks, another process), closed with the scope. */
const otherConnection = (filename: string) =>
  Effect.acquireRelease(
    Effect.sync(() => new Database(filename, { timeout: 0 })),
    (db) => Effect.sync(() => db.close())
  )

/** What `query` answers on the other connection (one number), or the error that stopped it. */
const seenByOther = (other: Database.Database, query: string): number | string => {
  try {
    return Object.values(other.prepare(query).get() as Record<string, number>)[0] ?? -1
  } catch (error) {
    return `other connection: ${(error as Error).message}`
  }
}

/** Make the connection in context wait at most `ms` for another connection's lock. */
const busyTimeout = (ms: number) => Effect.flatMap(SqlClient.SqlClient, (sql) => sql`PRAGMA busy_timeout = ${sql.literal(String(ms))}`)

/** Rows, distinct requests and the cost sum of the records written, as the other connection sees them. */
const stored = (other: Database.Database) => ({
  costs: seenByOther(other, "SELECT COUNT(*) FROM cost_records"),
  distinct: seenByOther(other, "SELECT COUNT(DISTINCT request_id) FROM cost_records"),
  pico: seenByOther(other, "SELECT COALESCE(SUM(cost_pico), 0) FROM cost_records"),
  perf: seenByOther(other, "SELECT COUNT(*) FROM performance_records")
})

/** What `stored` answers after `costs` cost records `cost(1..costs)` and `perf` performance records. */
const expected = (costs: number, perf = 0) => ({
  costs,
  distinct: costs,
  pico: Array.from({ length: costs }, (_, i) => 1_000_000 + i + 1).reduce((a, b) => a + b, 0),
  perf
})

const batch = [cost(1), cost(2), performance(1)]

/** A write on the connection in context outside any transaction: whether the other connection then sees it (committed). */
const probeWrite = (other: Database.Database, id: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`INSERT INTO probe (id) VALUES (${id})`
    return seenByOther(other, `SELECT COUNT(*) FROM probe WHERE id = ${id}`) === 1 ? "committed" : "not committed"
  })

/**
 * With the other connection holding the file (`begin`: its transaction), the
 * batch fails whole as "database is locked"; once the other commits, the
 * store's connection is in no transaction (a plain write is committed) and
 * the retry writes the batch once.
 */
const failsWholeThenRetriesOnce = (
  store: RecordStore["Type"],
  db: Context.Context<SqlClient.SqlClient>,
  other: Database.Database,
  begin: "BEGIN" | "BEGIN IMMEDIATE"
) =>
  Effect.gen(function* () {
    other.exec(begin)
    assert.deepStrictEqual(stored(other), expected(0))
    const error = yield* Effect.flip(store.writeBatch(batch))
    assert.include(error.reason, "database is locked")
    other.exec("COMMIT")
    assert.deepStrictEqual(stored(other), expected(0), "nothing of the failed batch is written, and the file is not left locked")
    assert.strictEqual(yield* Effect.provide(probeWrite(other, 1), db), "committed", "the connection is outside any transaction")
    yield* store.writeBatch(batch)
    assert.deepStrictEqual(stored(other), expected(2, 1))
  })

describe("a batch on this thread while another connection holds the file", () => {
  it.scoped("WAL (Sqlite.layer): a held write lock fails the batch whole; the connection is free, and the retry writes it once", () =>
    Effect.gen(function* () {
      const filename = yield* tempFile
      const db = yield* Layer.build(Sqlite.layer(filename))
      yield* Effect.provide(Effect.zipRight(busyTimeout(busyMs), Effect.flatMap(SqlClient.SqlClient, (sql) => sql`CREATE TABLE probe (id)`)), db)
      const store = yield* Effect.provide(RecordStoreSql.make, db)
      yield* failsWholeThenRetriesOnce(store, db, yield* otherConnection(filename), "BEGIN IMMEDIATE")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("WAL (Sqlite.layer): another connection's open read transaction does not hold a batch back", () =>
    Effect.gen(function* () {
      const filename = yield* tempFile
      const db = yield* Layer.build(Sqlite.layer(filename))
      yield* Effect.provide(busyTimeout(busyMs), db)
      const store = yield* Effect.provide(RecordStoreSql.make, db)
      const other = yield* otherConnection(filename)

      other.exec("BEGIN")
      assert.deepStrictEqual(stored(other), expected(0))
      yield* store.writeBatch(batch)
      assert.deepStrictEqual(stored(other), expected(0), "the reader keeps its snapshot")
      other.exec("COMMIT")
      assert.deepStrictEqual(stored(other), expected(2, 1))
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped(
    "rollback journal (a SqliteClient with disableWAL): a COMMIT failed by a reader is rolled back; the connection is free, and the retry writes the batch once",
    () =>
      Effect.gen(function* () {
        const filename = yield* tempFile
        const db = yield* Layer.build(Sqlite.migrations.pipe(Layer.provideMerge(SqliteClient.layer({ filename, disableWAL: true }))))
        const mode = yield* Effect.provide(
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            yield* busyTimeout(busyMs)
            yield* sql`CREATE TABLE probe (id)`
            return (yield* sql<{ journal_mode: string }>`PRAGMA journal_mode`)[0]?.journal_mode
          }),
          db
        )
        assert.strictEqual(mode, "delete")
        const store = yield* Effect.provide(RecordStoreSql.make, db)
        const other = yield* otherConnection(filename)
        yield* failsWholeThenRetriesOnce(store, db, other, "BEGIN")
        assert.strictEqual(seenByOther(other, "SELECT COUNT(*) FROM probe"), 1)
      }).pipe(Effect.provide(NodeContext.layer))
  )
})

describe("a batch on the worker thread while another connection holds the file", () => {
  it.scoped("a held write lock fails the batch whole; the thread's connection is free, and the retry writes it once", () =>
    Effect.gen(function* () {
      const filename = yield* tempFile
      yield* Layer.build(Sqlite.layer(filename))
      const worker = yield* RecordWorker.make(filename, { busyTimeoutMs: busyMs })
      const store = yield* RecordStoreSql.makeOn(worker)
      const other = yield* otherConnection(filename)

      other.exec("BEGIN IMMEDIATE")
      const error = yield* Effect.flip(store.writeBatch(batch))
      assert.include(error.reason, "database is locked")
      other.exec("COMMIT")
      assert.deepStrictEqual(stored(other), expected(0), "nothing of the failed batch is written")

      yield* store.writeBatch(batch)
      assert.deepStrictEqual(stored(other), expected(2, 1))
      yield* store.writeBatch(batch)
      assert.deepStrictEqual(stored(other), expected(2, 1), "the same batch again is not written twice")

      // the thread's writes outside a batch transaction are committed: its connection is in none
      yield* worker.cache.set([{ key: "k", model: "m1", response: "{}", bytes: 2, created_at: 0, expires_at: 10, last_access: 0 }])
      yield* worker.cache.delete("k")
      assert.strictEqual(seenByOther(other, "SELECT COUNT(*) FROM cached_responses"), 0)
      assert.strictEqual(yield* worker.threadsStarted, 1)
    }).pipe(Effect.provide(NodeContext.layer)))
})

const threads = [
  { name: "this thread", thread: "main" },
  { name: "the worker thread", thread: "worker" }
] as const

describe.each(threads)("the record writer on $name while another connection holds the file", ({ thread }) => {
  it.scoped("retries the failed batch on its schedule (TestClock) and stores each record once", () =>
    Effect.gen(function* () {
      const filename = yield* tempFile
      const context = yield* Layer.build(Sqlite.layer(filename))
      const store =
        thread === "main"
          ? Layer.effect(RecordStore, Effect.zipRight(busyTimeout(busyMs), RecordStoreSql.make)).pipe(Layer.orDie)
          : Layer.scoped(RecordStore, Effect.flatMap(RecordWorker.make(filename, { busyTimeoutMs: busyMs }), RecordStoreSql.makeOn)).pipe(
              Layer.orDie
            )
      const config = new GatewayConfigData({
        ...defaultConfig,
        records: RecordsConfig.make({ queueCapacity: 1_000, flushIntervalMs: 60_000, batchSize: 500 })
      })
      const built = yield* Layer.build(
        RecordStoreSql.layerAccountingWith(store).pipe(
          Layer.provideMerge(Layer.mergeAll(Layer.succeedContext(context), Events.layer, GatewayConfig.layerStatic(config)))
        )
      )
      const entered = yield* Context.get(built, Events.Events).subscribe.pipe(
        Stream.filter((event) => event._tag === "DegradedModeEntered"),
        Stream.runHead,
        Effect.fork
      )
      yield* Effect.yieldNow()
      const other = yield* otherConnection(filename)

      other.exec("BEGIN IMMEDIATE")
      const sink = Context.get(built, RecordSink)
      for (let i = 1; i <= 20; i++) yield* sink.offer(cost(i))
      const flushing = yield* Effect.fork(Context.get(built, RecordWriter).flush)
      yield* Fiber.join(entered)
      other.exec("COMMIT")
      assert.deepStrictEqual(stored(other), expected(0), "nothing of the failed batch is written")

      // the retry sleeps on the clock: move it past the first delay of `writeRetry`
      const now = yield* Clock.currentTimeMillis
      while (!Chunk.some(yield* TestClock.sleeps(), (at) => at < now + 60_000)) yield* Effect.yieldNow()
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(flushing)

      assert.deepStrictEqual(stored(other), expected(20))
      const stats = yield* Context.get(built, RecordWriter).stats
      assert.strictEqual(stats.written, 20)
      assert.isFalse(stats.degraded)
    }).pipe(Effect.provide(NodeContext.layer)))
})
