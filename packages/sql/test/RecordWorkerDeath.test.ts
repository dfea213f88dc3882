import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
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
import { Chunk, Clock, Context, Effect, Exit, Fiber, Layer, Scope, Stream, TestClock } from "effect"
import type { Worker as NodeThread } from "node:worker_threads"
import { cost, count, performance, tempFile } from "./recordFixtures.js"

/** A migrated database file in the test's scope: its context. */
const database = Effect.flatMap(tempFile, (filename) =>
  Effect.map(Layer.build(Sqlite.layer(filename)), (context) => ({ filename, context }))
)

const counts = (context: Context.Context<SqlClient.SqlClient>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    return {
      costs: yield* count("cost_records"),
      perf: yield* count("performance_records"),
      distinct: (yield* sql<{ n: number }>`SELECT COUNT(DISTINCT request_id) AS n FROM cost_records`)[0]?.n
    }
  }).pipe(Effect.provide(context))

describe("RecordWorker: a thread that dies", () => {
  it.scoped("after COMMIT and before its reply: the retried batch is not written again, on a new thread", () =>
    Effect.gen(function* () {
      const { context, filename } = yield* database
      const worker = yield* RecordWorker.make(filename, { exitAfterCommits: 1 })
      const store = yield* RecordStoreSql.makeOn(worker)
      const batch = [cost(1), cost(2), performance(1)]

      const error = yield* Effect.flip(store.writeBatch(batch))
      assert.strictEqual(error.operation, "records.writeBatch")
      assert.include(error.reason, "exited with code 7")
      assert.deepStrictEqual(yield* counts(context), { costs: 2, perf: 1, distinct: 2 }, "committed before the thread died")

      yield* store.writeBatch(batch)
      assert.deepStrictEqual(yield* counts(context), { costs: 2, perf: 1, distinct: 2 }, "the retry wrote nothing more")
      assert.strictEqual(yield* worker.threadsStarted, 2)

      yield* store.writeBatch([cost(3)])
      yield* worker.cache.set([{ key: "k", model: "m1", response: "{}", bytes: 2, created_at: 0, expires_at: 10, last_access: 0 }])
      assert.deepStrictEqual(yield* counts(context), { costs: 3, perf: 1, distinct: 3 }, "later batches are written")
      assert.strictEqual(yield* count("cached_responses").pipe(Effect.provide(context)), 1)
      assert.strictEqual(yield* worker.threadsStarted, 2)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("killed (terminate) while idle: the next write runs on a fresh thread", () =>
    Effect.gen(function* () {
      const { context, filename } = yield* database
      const threads: Array<NodeThread> = []
      const worker = yield* RecordWorker.make(filename, { onThread: (thread) => threads.push(thread) })
      const store = yield* RecordStoreSql.makeOn(worker)
      yield* store.writeBatch([cost(1)])

      yield* Effect.promise(() => threads[0]!.terminate())
      yield* store.writeBatch([cost(2)])
      assert.strictEqual(threads.length, 2)
      assert.strictEqual(yield* worker.threadsStarted, 2)
      assert.deepStrictEqual(yield* counts(context), { costs: 2, perf: 0, distinct: 2 })
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("killed during a large write: retried until it succeeds, its rows are stored exactly once", () =>
    Effect.gen(function* () {
      const { context, filename } = yield* database
      const threads: Array<NodeThread> = []
      const worker = yield* RecordWorker.make(filename, { onThread: (thread) => threads.push(thread) })
      const store = yield* RecordStoreSql.makeOn(worker)
      const batch = Array.from({ length: 3_000 }, (_, i) => cost(i))

      const writing = yield* Effect.fork(Effect.either(store.writeBatch(batch)))
      yield* Effect.promise(() => threads[0]!.terminate())
      const first = yield* Fiber.join(writing)
      // Whether the kill came before or after COMMIT, retrying the same batch leaves it stored once.
      if (first._tag === "Left") yield* store.writeBatch(batch)
      assert.deepStrictEqual(yield* counts(context), { costs: 3_000, perf: 0, distinct: 3_000 })
      assert.strictEqual(yield* worker.threadsStarted, 2)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("through the record writer: the death is a failed write, retried on its schedule, each record stored once", () =>
    Effect.gen(function* () {
      const { context, filename } = yield* database
      const config = new GatewayConfigData({
        ...defaultConfig,
        records: RecordsConfig.make({ queueCapacity: 1_000, flushIntervalMs: 60_000, batchSize: 500 })
      })
      const store = Layer.scoped(RecordStore, Effect.flatMap(RecordWorker.make(filename, { exitAfterCommits: 1 }), RecordStoreSql.makeOn)).pipe(
        Layer.orDie
      )
      const accounting = RecordStoreSql.layerAccountingWith(store).pipe(
        Layer.provideMerge(Layer.mergeAll(Layer.succeedContext(context), Events.layer, GatewayConfig.layerStatic(config)))
      )
      const built = yield* Layer.build(accounting)
      const events = Context.get(built, Events.Events)
      const degraded = yield* events.subscribe.pipe(
        Stream.filter((event) => event._tag === "DegradedModeEntered" || event._tag === "DegradedModeLeft"),
        Stream.take(2),
        Stream.runCollect,
        Effect.fork
      )
      const entered = yield* events.subscribe.pipe(
        Stream.filter((event) => event._tag === "DegradedModeEntered"),
        Stream.runHead,
        Effect.fork
      )
      yield* Effect.yieldNow()
      const sink = Context.get(built, RecordSink)
      for (let i = 0; i < 20; i++) yield* sink.offer(cost(i))

      const flushing = yield* Effect.fork(Context.get(built, RecordWriter).flush)
      // The first write fails (no clock involved); its retry then sleeps on the clock: move the clock past it.
      yield* Fiber.join(entered)
      const now = yield* Clock.currentTimeMillis
      while (!Chunk.some(yield* TestClock.sleeps(), (at) => at < now + 60_000)) yield* Effect.yieldNow()
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(flushing)

      assert.deepStrictEqual(yield* counts(context), { costs: 20, perf: 0, distinct: 20 })
      const stats = yield* Context.get(built, RecordWriter).stats
      assert.strictEqual(stats.written, 20)
      assert.isFalse(stats.degraded)
      const seen = yield* Fiber.join(degraded)
      assert.deepStrictEqual(
        Array.from(seen, (event) => event._tag),
        ["DegradedModeEntered", "DegradedModeLeft"]
      )
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("after its scope closed: a write is a StoreError, not a wait, and no thread is started", () =>
    Effect.gen(function* () {
      const { filename } = yield* database
      const scope = yield* Scope.make()
      const worker = yield* RecordWorker.make(filename).pipe(Scope.extend(scope))
      yield* Scope.close(scope, Exit.void)
      const error = yield* Effect.flip(worker.write([{ table: "cost_records", rows: [] }]))
      assert.include(error.reason, "stopped")
      assert.strictEqual(yield* worker.threadsStarted, 1)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("committed batch ids are pruned to the newest ones", () =>
    Effect.gen(function* () {
      const { context, filename } = yield* database
      const worker = yield* RecordWorker.make(filename, { keepBatchIds: 3 })
      for (const id of ["a", "b", "c", "d", "e"]) {
        assert.strictEqual(yield* worker.write([{ table: "cost_records", rows: [] }], { batchId: id }), "written")
      }
      const ids = yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ id: string }>`SELECT id FROM record_batches ORDER BY seq`).pipe(
        Effect.provide(context)
      )
      assert.deepStrictEqual(ids.map((row) => row.id), ["c", "d", "e"])
      assert.strictEqual(yield* worker.write([{ table: "cost_records", rows: [] }], { batchId: "e" }), "already-written")
    }).pipe(Effect.provide(NodeContext.layer)))
})
