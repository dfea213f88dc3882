import { SqlClient } from "@effect/sql"
import { assert, describe, layer } from "@effect/vitest"
import * as CostTracker from "@modelgate/core/CostTracker"
import * as Events from "@modelgate/core/Events"
import * as GatewayConfig from "@modelgate/core/GatewayConfig"
import { defaultConfig, GatewayConfigData, RecordsConfig } from "@modelgate/core/GatewayConfigSchema"
import { RecordSink } from "@modelgate/core/RecordSink"
import * as RecordWriter from "@modelgate/core/RecordWriter"
import type { StoreError } from "@modelgate/domain/Errors"
import { ModelMetadata } from "@modelgate/domain/Model"
import {
  BudgetAlertRecord,
  CostRecord,
  FailoverRecord,
  HealthCheckRecord,
  PerformanceRecord,
  QualityScoreRecord,
  RateLimitEventRecord
} from "@modelgate/domain/Records"
import * as RecordStoreSql from "@modelgate/sql/RecordStoreSql"
import { Context, Effect, Exit, Layer, Ref, Schema, Scope, TestClock } from "effect"
import { databases, type OpenNeeds, servers } from "./databases.js"
import { count } from "./recordFixtures.js"

/** The whole accounting stack on a database, with the record writer's queue settings. */
const stack = (database: Layer.Layer<SqlClient.SqlClient, StoreError, OpenNeeds>, records = { queueCapacity: 10_000, flushIntervalMs: 250, batchSize: 50 }) =>
  CostTracker.layer.pipe(
    Layer.provideMerge(RecordStoreSql.layerAccounting),
    Layer.provideMerge(database),
    Layer.provideMerge(Events.layer),
    Layer.provideMerge(GatewayConfig.layerStatic(new GatewayConfigData({ ...defaultConfig, records: RecordsConfig.make(records) })))
  )

const model = Schema.decodeUnknownSync(ModelMetadata)({
  id: "m1",
  provider: "openai",
  providerModel: "m1",
  displayName: "M1",
  capabilities: ["chat"],
  contextWindow: 128_000,
  maxOutputTokens: 4_096,
  pricing: { inputPerMillion: 2.5, outputPerMillion: 10 },
  rateLimits: { rpm: 100, tpm: 100_000 },
  qualityTier: "standard",
  qualityScore: 0.5
})

layer(servers, { timeout: 60_000 })("RecordWriter", (it) => {
  for (const database of databases) {
    describe(`on ${database.name}`, () => {
      it.scoped("a graceful stop writes every kind of record to its table", () =>
        Effect.gen(function* () {
          const db = yield* database.create
          const scope = yield* Scope.make()
          const ctx = yield* Layer.buildWithScope(stack(db), scope)
          const sink = Context.get(ctx, RecordSink)
          for (let i = 0; i < 40; i++) {
            yield* sink.offer(
              CostRecord.make({ at: i, requestId: `r${i}`, model: "m1", provider: "openai", promptTokens: 1, completionTokens: 2, cachedTokens: 0, costPicoUsd: 5, cacheHit: false })
            )
            yield* sink.offer(
              PerformanceRecord.make({ at: i, requestId: `r${i}`, model: "m1", provider: "openai", latencyMs: 12.5, success: true, outputTokens: 2, streamed: false, cacheHit: false })
            )
          }
          yield* sink.offer(HealthCheckRecord.make({ at: 1, model: "m1", ok: true, latencyMs: 3, source: "probe" }))
          yield* sink.offer(RateLimitEventRecord.make({ at: 1, model: "m1", kind: "warning", dimension: "tokens", detail: "90%" }))
          yield* sink.offer(FailoverRecord.make({ at: 1, from: "m1", to: "m2", reason: "Timeout", attempt: 1, elapsedMs: 30 }))
          yield* sink.offer(
            QualityScoreRecord.make({ at: 1, requestId: "r1", model: "m1", completeness: 1, relevance: 0.5, coherence: 0.9, score: 0.8, lowQuality: false })
          )
          yield* sink.offer(
            BudgetAlertRecord.make({ at: 1, budget: "global", period: "daily", periodStart: 0, threshold: 0.5, spentPicoUsd: 5, limitPicoUsd: 10n })
          )
          yield* Scope.close(scope, Exit.void)

          const counts = yield* Effect.all(
            ["cost_records", "performance_records", "health_checks", "rate_limit_events", "failover_events", "quality_scores", "budget_alerts"].map(count)
          ).pipe(Effect.provide(db))
          assert.deepStrictEqual(counts, [40, 40, 1, 1, 1, 1, 1])
        }))

      it.scoped("closing the runtime mid-load keeps the cost record of every completed request, each once", () =>
        Effect.gen(function* () {
          const db = yield* database.create
          const scope = yield* Scope.make()
          // Batches never fill and the interval never passes: what is written before close is exactly what `flush` wrote.
          const ctx = yield* Layer.buildWithScope(stack(db, { queueCapacity: 10_000, flushIntervalMs: 3_600_000, batchSize: 10_000 }), scope)
          const costs = Context.get(ctx, CostTracker.CostTracker)
          const writer = Context.get(ctx, RecordWriter.RecordWriter)
          const completed = yield* Ref.make<ReadonlyArray<string>>([])

          const request = (i: number) =>
            Effect.gen(function* () {
              yield* Effect.sleep(1 + ((i * 37) % 400))
              const usage = { promptTokens: 100 + i, completionTokens: 50, cachedTokens: 0 }
              const reservation = yield* costs.reserve(model, "chat", costs.cost(model, usage))
              yield* costs.commit(
                reservation,
                CostRecord.make({
                  at: yield* Effect.clockWith((c) => c.currentTimeMillis),
                  requestId: `req-${i}`,
                  model: "m1",
                  provider: "openai",
                  agentType: "chat",
                  ...usage,
                  costPicoUsd: costs.cost(model, usage),
                  cacheHit: false
                })
              )
              yield* Ref.update(completed, (all) => [...all, `req-${i}`])
            })
          yield* Effect.forkAll(Array.from({ length: 500 }, (_, i) => request(i)))
          yield* TestClock.adjust("100 millis")
          yield* writer.flush
          const flushed = (yield* Ref.get(completed)).length
          yield* TestClock.adjust("100 millis")
          const beforeClose = yield* count("cost_records").pipe(Effect.provide(db))
          const completedBeforeClose = (yield* Ref.get(completed)).length
          assert.strictEqual(beforeClose, flushed, "the flush wrote what had completed by then, and nothing since")
          assert.isTrue(flushed > 0 && completedBeforeClose > flushed, `${flushed} written, ${completedBeforeClose} completed at close`)
          yield* Scope.close(scope, Exit.void)

          const done = yield* Ref.get(completed)
          assert.isTrue(done.length > 100 && done.length < 500, `mid-load: ${done.length} of 500 completed`)
          const stored = yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ request_id: string }>`SELECT request_id FROM cost_records`).pipe(
            Effect.provide(db)
          )
          assert.deepStrictEqual(stored.map((r) => r.request_id).sort(), [...done].sort())
        }))
    })
  }
})
