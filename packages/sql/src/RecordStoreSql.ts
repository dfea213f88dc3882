/**
 * The SQL `RecordStore`: each batch in one transaction, one multi-row INSERT
 * per table (in chunks, under SQLite's parameter limit).
 */
import { SqlClient } from "@effect/sql"
import { latencyBucket } from "@modelgate/core/Metrics/Aggregate"
import type { CostStore } from "@modelgate/core/CostStore"
import type { Events } from "@modelgate/core/Events"
import type { GatewayConfig } from "@modelgate/core/GatewayConfig"
import * as Metrics from "@modelgate/core/Metrics"
import type { MetricsStore } from "@modelgate/core/MetricsStore"
import type { RecordSink } from "@modelgate/core/RecordSink"
import { RecordStore } from "@modelgate/core/RecordStore"
import * as RecordWriter from "@modelgate/core/RecordWriter"
import { StoreError } from "@modelgate/domain/Errors"
import type { GatewayRecord } from "@modelgate/domain/Records"
import { Effect, Layer } from "effect"
import * as CostStoreSql from "./CostStoreSql.js"
import * as MetricsStoreSql from "./MetricsStoreSql.js"

type Row = Record<string, string | number | null>

const bool = (b: boolean) => (b ? 1 : 0)
const opt = <A>(a: A | undefined): A | null => (a === undefined ? null : a)

/** The table and row of a record. */
export const toRow = (record: GatewayRecord): readonly [table: string, row: Row] => {
  switch (record._tag) {
    case "CostRecord":
      return [
        "cost_records",
        {
          at: record.at,
          request_id: record.requestId,
          model: record.model,
          provider: record.provider,
          api_key_id: opt(record.apiKeyId),
          agent_type: opt(record.agentType),
          task_type: opt(record.taskType),
          prompt_tokens: record.promptTokens,
          completion_tokens: record.completionTokens,
          cached_tokens: record.cachedTokens,
          cost_pico: record.costPicoUsd,
          cache_hit: bool(record.cacheHit)
        }
      ]
    case "PerformanceRecord":
      return [
        "performance_records",
        {
          at: record.at,
          request_id: record.requestId,
          model: record.model,
          provider: record.provider,
          agent_type: opt(record.agentType),
          latency_ms: record.latencyMs,
          ttft_ms: opt(record.timeToFirstTokenMs),
          success: bool(record.success),
          error_class: opt(record.errorClass),
          output_tokens: record.outputTokens,
          streamed: bool(record.streamed),
          cache_hit: bool(record.cacheHit),
          latency_bucket: latencyBucket(record.latencyMs)
        }
      ]
    case "HealthCheckRecord":
      return [
        "health_checks",
        {
          at: record.at,
          model: record.model,
          ok: bool(record.ok),
          latency_ms: record.latencyMs,
          error_class: opt(record.errorClass),
          source: record.source
        }
      ]
    case "RateLimitEventRecord":
      return [
        "rate_limit_events",
        { at: record.at, model: record.model, kind: record.kind, dimension: opt(record.dimension), detail: record.detail }
      ]
    case "FailoverRecord":
      return [
        "failover_events",
        {
          at: record.at,
          request_id: opt(record.requestId),
          from_model: record.from,
          to_model: opt(record.to),
          reason: record.reason,
          attempt: record.attempt,
          elapsed_ms: record.elapsedMs
        }
      ]
    case "QualityScoreRecord":
      return [
        "quality_scores",
        {
          at: record.at,
          request_id: record.requestId,
          model: record.model,
          task_type: opt(record.taskType),
          completeness: record.completeness,
          relevance: record.relevance,
          coherence: record.coherence,
          score: record.score,
          low_quality: bool(record.lowQuality)
        }
      ]
    case "BudgetAlertRecord":
      return [
        "budget_alerts",
        {
          at: record.at,
          budget: record.budget,
          period: record.period,
          period_start: record.periodStart,
          threshold: record.threshold,
          spent_pico: record.spentPicoUsd,
          limit_pico: record.limitPicoUsd
        }
      ]
  }
}

const CHUNK = 50

/** Build the SQL record store on the current `SqlClient`. */
export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const writeBatch = Effect.fn("RecordStoreSql.writeBatch")(
    function* (records: ReadonlyArray<GatewayRecord>) {
      if (records.length === 0) return
      const byTable = new Map<string, Array<Row>>()
      for (const record of records) {
        const [table, row] = toRow(record)
        const rows = byTable.get(table) ?? []
        rows.push(row)
        byTable.set(table, rows)
      }
      yield* sql.withTransaction(
        Effect.forEach(
          [...byTable].flatMap(([table, rows]) =>
            Array.from({ length: Math.ceil(rows.length / CHUNK) }, (_, i) => [table, rows.slice(i * CHUNK, (i + 1) * CHUNK)] as const)
          ),
          ([table, rows]) => sql`INSERT INTO ${sql(table)} ${sql.insert(rows)}`,
          { discard: true }
        )
      )
    },
    Effect.mapError((error) => new StoreError({ operation: "records.writeBatch", reason: error.message }))
  )
  return RecordStore.of({ writeBatch })
})

/** The SQL record store (needs a migrated `SqlClient`). */
export const layer: Layer.Layer<RecordStore, never, SqlClient.SqlClient> = Layer.effect(RecordStore, make)

/**
 * The accounting stack on SQL: the live record writer over this store, the SQL
 * cost and metrics stores, and `Metrics`. Add `CostTracker.layer` on top.
 */
export const layerAccounting: Layer.Layer<
  RecordSink | RecordWriter.RecordWriter | Metrics.Metrics | MetricsStore | CostStore | RecordStore,
  never,
  SqlClient.SqlClient | Events | GatewayConfig
> = RecordWriter.layer.pipe(
  Layer.provideMerge(Metrics.layer),
  Layer.provideMerge(Layer.mergeAll(layer, CostStoreSql.layer, MetricsStoreSql.layer))
)
