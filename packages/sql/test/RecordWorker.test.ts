import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import * as Events from "@modelgate/core/Events"
import * as GatewayConfig from "@modelgate/core/GatewayConfig"
import { defaultConfig, GatewayConfigData, RecordsConfig } from "@modelgate/core/GatewayConfigSchema"
import { RecordSink } from "@modelgate/core/RecordSink"
import { RecordStore } from "@modelgate/core/RecordStore"
import {
  BudgetAlertRecord,
  CostRecord,
  FailoverRecord,
  type GatewayRecord,
  HealthCheckRecord,
  QualityScoreRecord,
  RateLimitEventRecord
} from "@modelgate/domain/Records"
import * as RecordStoreSql from "@modelgate/sql/RecordStoreSql"
import * as RecordWorker from "@modelgate/sql/RecordWorker"
import * as Sqlite from "@modelgate/sql/Sqlite"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { cost, count, performance, tempFile } from "./recordFixtures.js"
import { loopTurnsDuring } from "./eventLoop.js"

/** The two write paths, with the same behavioural tests: a worker thread on a file, this thread on `:memory:`. */
const paths = [
  { name: "a worker thread (file database)", thread: "worker", file: true },
  { name: "this thread (:memory: database)", thread: "main", file: false }
] as const

/** A migrated database in the test's scope: its context (SqlClient, SqliteFile). */
const database = (file: boolean) =>
  Effect.flatMap(file ? tempFile : Effect.succeed(":memory:"), (filename) => Layer.build(Sqlite.layer(filename)))

const storeOn = (db: Context.Context<SqlClient.SqlClient | Sqlite.SqliteFile>, thread: RecordStoreSql.WriteThread) =>
  Effect.map(Layer.build(RecordStoreSql.layerWith({ thread }).pipe(Layer.provide(Layer.succeedContext(db)))), (ctx) =>
    Context.get(ctx, RecordStore)
  )

const everyKind: ReadonlyArray<GatewayRecord> = [
  cost(1),
  performance(1),
  HealthCheckRecord.make({ at: 1, model: "m1", ok: true, latencyMs: 3, source: "probe" }),
  RateLimitEventRecord.make({ at: 1, model: "m1", kind: "warning", dimension: "tokens", detail: "90%" }),
  FailoverRecord.make({ at: 1, from: "m1", to: "m2", reason: "Timeout", attempt: 1, elapsedMs: 30 }),
  QualityScoreRecord.make({ at: 1, requestId: "req-1", model: "m1", completeness: 1, relevance: 0.5, coherence: 0.9, score: 0.8, lowQuality: false }),
  BudgetAlertRecord.make({ at: 1, budget: "global", period: "daily", periodStart: 0, threshold: 0.5, spentPicoUsd: 5, limitPicoUsd: 10n })
]

const tables = ["cost_records", "performance_records", "health_checks", "rate_limit_events", "failover_events", "quality_scores", "budget_alerts"]

const config = new GatewayConfigData({
  ...defaultConfig,
  records: RecordsConfig.make({ queueCapacity: 10_000, flushIntervalMs: 250, batchSize: 100 })
})

describe.each(paths)("RecordStoreSql writing on $name", ({ file, thread }) => {
  it.scoped("a batch is readable from the main connection, every kind in its table, values intact", () =>
    Effect.gen(function* () {
      const db = yield* database(file)
      const store = yield* storeOn(db, thread)
      yield* store.writeBatch(everyKind)
      yield* store.writeBatch([cost(2), performance(2)])

      const read = Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        return {
          counts: yield* Effect.all(tables.map(count)),
          costs: yield* sql`SELECT request_id, api_key_id, agent_type, task_type, prompt_tokens, cost_pico, cache_hit FROM cost_records ORDER BY id`,
          perf: yield* sql`SELECT request_id, latency_ms, ttft_ms, success, error_class, streamed, latency_bucket FROM performance_records ORDER BY id`
        }
      }).pipe(Effect.provide(db))
      const { costs, counts, perf } = yield* read
      assert.deepStrictEqual(counts, [2, 2, 1, 1, 1, 1, 1])
      assert.deepStrictEqual(costs, [
        { request_id: "req-1", api_key_id: "openai-1", agent_type: "coder", task_type: null, prompt_tokens: 101, cost_pico: 1_000_001, cache_hit: 0 },
        { request_id: "req-2", api_key_id: "openai-1", agent_type: "coder", task_type: null, prompt_tokens: 102, cost_pico: 1_000_002, cache_hit: 1 }
      ])
      assert.deepStrictEqual(
        perf.map((r) => [r.request_id, r.latency_ms, r.ttft_ms, r.success, r.error_class, r.streamed]),
        [
          ["req-1", 13.5, 3.25, 1, null, 1],
          ["req-2", 14.5, 3.25, 1, null, 1]
        ]
      )
      assert.isTrue(perf.every((r) => typeof r.latency_bucket === "number"))
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a failed write is a StoreError and writes nothing of its batch (one transaction)", () =>
    Effect.gen(function* () {
      const db = yield* database(file)
      const store = yield* storeOn(db, thread)
      yield* store.writeBatch([performance(1), cost(1)])
      yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql`DROP TABLE cost_records`).pipe(Effect.provide(db))

      const error = yield* Effect.flip(store.writeBatch([performance(2), performance(3), cost(2)]))
      assert.strictEqual(error._tag, "StoreError")
      assert.strictEqual(error.operation, "records.writeBatch")
      assert.include(error.reason, "no such table: cost_records")
      assert.strictEqual(yield* count("performance_records").pipe(Effect.provide(db)), 1)

      // The store keeps working for tables that exist.
      yield* store.writeBatch([performance(4)])
      assert.strictEqual(yield* count("performance_records").pipe(Effect.provide(db)), 2)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a row failing a constraint in the middle of a large batch: nothing of the batch is stored, the reason is the driver's", () =>
    Effect.gen(function* () {
      const db = yield* database(file)
      const store = yield* storeOn(db, thread)
      yield* store.writeBatch([cost(0)])
      const bad = CostRecord.make({ ...cost(150), costPicoUsd: -1 }, { disableValidation: true })
      const batch = [...Array.from({ length: 300 }, (_, i) => cost(i + 1)).map((r, i) => (i === 150 ? bad : r)), performance(1)]
      const error = yield* Effect.flip(store.writeBatch(batch))
      assert.strictEqual(error._tag, "StoreError")
      assert.include(error.reason, "CHECK constraint failed")
      const counts = yield* Effect.all([count("cost_records"), count("performance_records")]).pipe(Effect.provide(db))
      assert.deepStrictEqual(counts, [1, 0])

      yield* store.writeBatch(batch.filter((r) => r !== bad))
      const after = yield* Effect.all([count("cost_records"), count("performance_records")]).pipe(Effect.provide(db))
      assert.deepStrictEqual(after, [300, 1])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("closing the accounting scope writes every queued record exactly once", () =>
    Effect.gen(function* () {
      const db = yield* database(file)
      const scope = yield* Scope.make()
      const accounting = RecordStoreSql.layerAccountingWith(RecordStoreSql.layerWith({ thread }).pipe(Layer.orDie)).pipe(
        Layer.provide(Layer.mergeAll(Layer.succeedContext(db), Events.layer, GatewayConfig.layerStatic(config)))
      )
      const sink = Context.get(yield* Layer.buildWithScope(accounting, scope), RecordSink)
      for (let i = 0; i < 750; i++) {
        yield* sink.offer(cost(i))
        yield* sink.offer(performance(i))
      }
      yield* Scope.close(scope, Exit.void)

      const stored = yield* Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        return {
          costs: yield* count("cost_records"),
          perf: yield* count("performance_records"),
          distinct: (yield* sql<{ n: number }>`SELECT COUNT(DISTINCT request_id) AS n FROM cost_records`)[0]?.n
        }
      }).pipe(Effect.provide(db))
      assert.deepStrictEqual(stored, { costs: 750, perf: 750, distinct: 750 })
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("RecordStoreSql write thread choice", () => {
  it.live("on the worker, the event loop keeps turning while a large batch is written", () =>
    Effect.gen(function* () {
      const store = yield* storeOn(yield* database(true), "worker")
      const batch = Array.from({ length: 3_000 }, (_, i) => (i % 2 === 0 ? cost(i) : performance(i)))
      const [, turns] = yield* loopTurnsDuring(store.writeBatch(batch))
      assert.isAbove(turns, 5, "the main thread ran other work during the write")
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer)))

  it.scoped("a worker cannot share an in-memory database: a StoreError saying so", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(storeOn(yield* database(false), "worker"))
      assert.strictEqual(error._tag, "StoreError")
      assert.include(error.reason, "in-memory")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("auto writes on this thread for :memory: and on the worker for a file; both store", () =>
    Effect.gen(function* () {
      for (const file of [false, true]) {
        const db = yield* database(file)
        const store = yield* storeOn(db, "auto")
        yield* store.writeBatch([cost(1)])
        assert.strictEqual(yield* count("cost_records").pipe(Effect.provide(db)), 1)
      }
      assert.isTrue(Sqlite.isInMemory(":memory:") && Sqlite.isInMemory("") && !Sqlite.isInMemory("data/modelgate.db"))
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a worker that dies before it is ready fails the layer with a StoreError naming the script", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const directory = yield* fs.makeTempDirectoryScoped({ prefix: "modelgate-record-worker-" })
      const error = yield* Effect.flip(RecordWorker.make(directory))
      assert.strictEqual(error._tag, "StoreError")
      assert.strictEqual(error.operation, "records.worker")
      assert.include(error.reason, "recordWorkerMain")
    }).pipe(Effect.provide(NodeContext.layer)))
})
