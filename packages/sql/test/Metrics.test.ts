import { SqlClient } from "@effect/sql"
import { assert, describe, layer } from "@effect/vitest"
import * as Events from "@modelgate/core/Events"
import * as GatewayConfig from "@modelgate/core/GatewayConfig"
import { defaultConfig, GatewayConfigData, RecordsConfig } from "@modelgate/core/GatewayConfigSchema"
import { Metrics } from "@modelgate/core/Metrics"
import { aggregateRecords, toSnapshot } from "@modelgate/core/Metrics/Aggregate"
import type { MetricsFilter } from "@modelgate/core/Metrics/Snapshot"
import { MetricsStore } from "@modelgate/core/MetricsStore"
import { RecordSink } from "@modelgate/core/RecordSink"
import { RecordStore } from "@modelgate/core/RecordStore"
import { RecordWriter } from "@modelgate/core/RecordWriter"
import { CostRecord, FailoverRecord, type GatewayRecord, HealthCheckRecord, PerformanceRecord } from "@modelgate/domain/Records"
import * as MetricsStoreSql from "@modelgate/sql/MetricsStoreSql"
import * as RecordStoreSql from "@modelgate/sql/RecordStoreSql"
import { Effect, Layer } from "effect"
import * as fc from "fast-check"
import { databases, servers } from "./databases.js"

const providerOf = { a: "p", b: "q", c: "p" } as const
const arbModel = fc.constantFrom("a", "b", "c")
const at = fc.integer({ min: 0, max: 1_000_000 })
const agentType = fc.option(fc.constantFrom("x", "y"), { nil: undefined })

const arbRecord: fc.Arbitrary<GatewayRecord> = fc.oneof(
  fc
    .record({
      at,
      model: arbModel,
      agentType,
      latencyMs: fc.integer({ min: 0, max: 120_000 }),
      success: fc.boolean(),
      errorClass: fc.option(fc.constantFrom("RateLimited", "Timeout", "Interrupted", "BadRequest"), { nil: undefined }),
      outputTokens: fc.nat(4_000),
      cacheHit: fc.boolean()
    })
    .map(({ errorClass, ...r }) =>
      PerformanceRecord.make({
        ...r,
        ...(r.success || errorClass === undefined ? {} : { errorClass }),
        requestId: "r",
        provider: providerOf[r.model],
        streamed: false
      })
    ),
  fc
    .record({ at, model: arbModel, agentType, promptTokens: fc.nat(100_000), completionTokens: fc.nat(10_000), cachedTokens: fc.nat(100), cacheWriteTokens: fc.nat(1_000), reasoningTokens: fc.nat(1_000), costPicoUsd: fc.integer({ min: 0, max: 2 ** 48 }), cacheHit: fc.boolean() })
    .map((r) => CostRecord.make({ ...r, requestId: "r", provider: providerOf[r.model] })),
  fc
    .record({ at, from: arbModel, to: arbModel, agentType })
    // The gateway's failover records name the provider of the model they leave and the request's agent type (older rows neither).
    .map((r) => FailoverRecord.make({ ...r, ...(r.at % 2 === 0 ? { provider: providerOf[r.from] } : {}), reason: "Timeout", attempt: 1, elapsedMs: 10 })),
  fc.record({ at, model: arbModel, ok: fc.boolean(), source: fc.constantFrom("probe" as const, "traffic" as const) })
    .map((r) => HealthCheckRecord.make({ ...r, latencyMs: 5 }))
)

const arbFilter: fc.Arbitrary<MetricsFilter> = fc.record(
  { from: at, to: at, model: arbModel, provider: fc.constantFrom("p", "q"), agentType: fc.constantFrom("x", "y") },
  { requiredKeys: [] }
)

/** Filters that select records (most of `arbFilter`'s select none): bounds in order, at most one equality filter. */
const arbSelectingFilter: fc.Arbitrary<MetricsFilter> = fc
  .record({
    from: fc.option(fc.integer({ min: 0, max: 500_000 }), { nil: undefined }),
    to: fc.option(fc.integer({ min: 500_000, max: 1_000_000 }), { nil: undefined }),
    filter: fc.option(
      fc.oneof(
        arbModel.map((model) => ({ model })),
        fc.constantFrom("p", "q").map((provider) => ({ provider })),
        fc.constantFrom("x", "y").map((agentType) => ({ agentType }))
      ),
      { nil: undefined }
    )
  })
  .map(({ filter, from, to }) => ({ ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}), ...filter }))

const config = new GatewayConfigData({ ...defaultConfig, records: RecordsConfig.make({ ...defaultConfig.records, flushIntervalMs: 1_000 }) })

layer(servers, { timeout: 60_000 })("MetricsStoreSql", (it) => {
  for (const database of databases) {
    const Stores = Layer.mergeAll(RecordStoreSql.layer, MetricsStoreSql.layer).pipe(Layer.provideMerge(database.layer))
    const Stack = RecordStoreSql.layerAccounting.pipe(
      Layer.provideMerge(database.layer),
      Layer.provide(Events.layer),
      Layer.provide(GatewayConfig.layerStatic(config))
    )

    describe(`on ${database.name}`, () => {
      it.effect("SQL aggregates equal the in-memory aggregates of the same records for any filter", () =>
        Effect.gen(function* () {
          const context = yield* Effect.context<RecordStore | MetricsStore | SqlClient.SqlClient>()
          const run = (records: ReadonlyArray<GatewayRecord>, filter: MetricsFilter) =>
            Effect.gen(function* () {
              const sql = yield* SqlClient.SqlClient
              for (const table of ["performance_records", "cost_records", "failover_events", "health_checks"]) {
                yield* sql`DELETE FROM ${sql(table)}`
              }
              yield* (yield* RecordStore).writeBatch(records)
              return yield* (yield* MetricsStore).aggregate(filter)
            }).pipe(Effect.provide(context), Effect.runPromise)
          yield* Effect.promise(() =>
            fc.assert(
              fc.asyncProperty(fc.array(arbRecord, { maxLength: 80, size: "medium" }), fc.oneof(arbFilter, arbSelectingFilter), async (records, filter) => {
                const fromSql = toSnapshot(await run(records, filter), filter, "store", 0)
                const fromMemory = toSnapshot(aggregateRecords(records, filter), filter, "store", 0)
                assert.deepStrictEqual(fromSql, fromMemory)
              }),
              {
                numRuns: 120,
                // A model known only from its failovers (refused by the local limiter before any call).
                examples: [
                  [[FailoverRecord.make({ at: 2, from: "a", provider: "p", to: "b", reason: "RateLimitExceeded", attempt: 1, elapsedMs: 0 })], {}],
                  // The same, of one agent type's request, in that agent type's metrics.
                  [[FailoverRecord.make({ at: 2, from: "a", provider: "p", agentType: "x", to: "b", reason: "RateLimitExceeded", attempt: 1, elapsedMs: 0 })], { agentType: "x" }]
                ]
              }
            )
          )
        }).pipe(Effect.provide(Stores)))

      it.effect("bounds between two milliseconds (a span like `from=1.0000001h`) select the records between them", () =>
        Effect.gen(function* () {
          const records = [1, 2, 3].flatMap((at) => [
            PerformanceRecord.make({ at, requestId: `r${at}`, model: "a", provider: "p", latencyMs: 40, success: true, outputTokens: 3, streamed: false, cacheHit: false }),
            CostRecord.make({ at, requestId: `r${at}`, model: "a", provider: "p", promptTokens: 3, completionTokens: 3, cachedTokens: 0, costPicoUsd: 42, cacheHit: false }),
            FailoverRecord.make({ at, from: "a", provider: "p", to: "b", reason: "Timeout", attempt: 1, elapsedMs: 10 }),
            HealthCheckRecord.make({ at, model: "a", ok: true, latencyMs: 5, source: "probe" })
          ])
          yield* (yield* RecordStore).writeBatch(records)
          const filter = { from: 1.5, to: 3.5 }
          const fromSql = toSnapshot(yield* (yield* MetricsStore).aggregate(filter), filter, "store", 0)
          assert.deepStrictEqual(fromSql, toSnapshot(aggregateRecords(records, filter), filter, "store", 0))
          assert.strictEqual(fromSql.totals.requests, 2)
        }).pipe(Effect.provide(Stores)))

      it.effect("an agent type's metrics count its own failovers only, none of another's nor of rows that name none", () =>
        Effect.gen(function* () {
          const request = (at: number, agentType: string) => [
            PerformanceRecord.make({ at, requestId: `r${at}`, model: "a", provider: "p", agentType, latencyMs: 40, success: true, outputTokens: 3, streamed: false, cacheHit: false }),
            CostRecord.make({ at, requestId: `r${at}`, model: "a", provider: "p", agentType, promptTokens: 3, completionTokens: 3, cachedTokens: 0, costPicoUsd: 42, cacheHit: false })
          ]
          const failover = (at: number, agentType?: string) =>
            FailoverRecord.make({ at, from: "a", provider: "p", ...(agentType === undefined ? {} : { agentType }), to: "b", reason: "Timeout", attempt: 1, elapsedMs: 10 })
          // Both teams use model a; x failed over from it twice, y once; one row (written before agent types were kept) names none.
          yield* (yield* RecordStore).writeBatch([...request(1, "x"), ...request(2, "y"), failover(3, "x"), failover(4, "x"), failover(5, "y"), failover(6)])
          const store = yield* MetricsStore
          const failovers = (filter: MetricsFilter) =>
            Effect.map(store.aggregate(filter), (aggregate) => toSnapshot(aggregate, filter, "store", 0).totals.failovers)
          assert.strictEqual(yield* failovers({ agentType: "x" }), 2)
          assert.strictEqual(yield* failovers({ agentType: "y" }), 1)
          assert.strictEqual(yield* failovers({ agentType: "z" }), 0)
          assert.strictEqual(yield* failovers({}), 4)
        }).pipe(Effect.provide(Stores)))

      it.effect("a completed request is in the metrics before it is written, and counted once after", () =>
        Effect.gen(function* () {
          const sink = yield* RecordSink
          const metrics = yield* Metrics
          const sql = yield* SqlClient.SqlClient
          yield* sink.offer(
            PerformanceRecord.make({ at: 0, requestId: "r1", model: "a", provider: "p", latencyMs: 40, success: true, outputTokens: 3, streamed: false, cacheHit: false })
          )
          yield* sink.offer(
            CostRecord.make({ at: 0, requestId: "r1", model: "a", provider: "p", promptTokens: 3, completionTokens: 3, cachedTokens: 0, costPicoUsd: 42, cacheHit: false })
          )
          const rows = () => Effect.map(sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM cost_records`, (r) => Number(r[0]?.n))
          assert.strictEqual(yield* rows(), 0)
          const before = yield* metrics.query({ model: "a" })
          assert.strictEqual(before.totals.requests, 1)
          assert.strictEqual(before.totals.costPicoUsd, 42n)
          yield* (yield* RecordWriter).flush
          assert.strictEqual(yield* rows(), 1)
          const after = yield* metrics.query({ model: "a" })
          assert.strictEqual(after.totals.requests, 1)
          assert.strictEqual(after.totals.costPicoUsd, 42n)
          assert.include(yield* metrics.prometheus, 'modelgate_answered_total{model="a",provider="p"} 1')
        }).pipe(Effect.provide(Stack)))
    })
  }
})
