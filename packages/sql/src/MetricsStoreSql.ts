/**
 * The SQL `MetricsStore`: per-model sums over the record tables, grouped in
 * SQL (latency percentiles from `performance_records.latency_bucket`).
 */
import { SqlClient, SqlSchema } from "@effect/sql"
import { type Aggregate, emptyModel, type ModelAggregate } from "@modelgate/core/Metrics/Aggregate"
import { MetricsFilter } from "@modelgate/core/Metrics/Snapshot"
import { MetricsStore } from "@modelgate/core/MetricsStore"
import { notTheModelsFault } from "@modelgate/core/PerformanceMonitor/Counted"
import { StoreError } from "@modelgate/domain/Errors"
import { Effect, Layer, Schema } from "effect"
import { describeSqlError } from "./internal/recordRows.js"
import { Int, timeBound } from "./internal/sqlInt.js"

const N = Int
/** The error classes of failures that do not count against a model's availability (`counted`'s). */
const notTheModelsFaultClasses = [...notTheModelsFault]
const PerfRow = Schema.Struct({
  model: Schema.String,
  provider: Schema.String,
  requests: N,
  successes: N,
  latency_sum: N,
  latency_max: N,
  output_tokens: N,
  generation_ms: N,
  model_calls: N,
  model_successes: N
})
const ErrorRow = Schema.Struct({ model: Schema.String, cls: Schema.String, n: N })
const BucketRow = Schema.Struct({ model: Schema.String, bucket: N, n: N })
const CostRow = Schema.Struct({
  model: Schema.String,
  provider: Schema.String,
  answered: N,
  cache_hits: N,
  cost: Schema.BigInt,
  prompt_tokens: N,
  completion_tokens: N,
  cached_tokens: N,
  cache_write_tokens: N,
  reasoning_tokens: N
})
/** Health checks or failovers per model, with the provider they name (NULL in rows from before migration 0006 / 0007). */
const NamedRow = Schema.Struct({ model: Schema.String, provider: Schema.NullOr(Schema.String), ok: N, n: N })

/** Build the SQL metrics store on the current `SqlClient`. */
export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  const time = (f: MetricsFilter) => [
    ...(f.from !== undefined ? [sql`at >= ${timeBound(f.from)}`] : []),
    ...(f.to !== undefined ? [sql`at < ${timeBound(f.to)}`] : [])
  ]
  const scoped = (f: MetricsFilter) =>
    sql.and([
      ...time(f),
      ...(f.model !== undefined ? [sql`model = ${f.model}`] : []),
      ...(f.provider !== undefined ? [sql`provider = ${f.provider}`] : []),
      ...(f.agentType !== undefined ? [sql`agent_type = ${f.agentType}`] : [])
    ])
  /** The failover rows of a filter; with an agent type, its own only (rows from before migration 0014, PostgreSQL 0008, name none: no team's). */
  const failoverScope = (f: MetricsFilter) =>
    sql.and([
      ...time(f),
      ...(f.model !== undefined ? [sql`from_model = ${f.model}`] : []),
      ...(f.agentType !== undefined ? [sql`agent_type = ${f.agentType}`] : [])
    ])

  const perf = SqlSchema.findAll({
    Request: MetricsFilter,
    Result: PerfRow,
    execute: (f) => sql`
      SELECT model, MAX(provider) AS provider, COUNT(*) AS requests, SUM(success) AS successes,
             SUM(latency_ms) AS latency_sum, MAX(latency_ms) AS latency_max,
             SUM(CASE WHEN success = 1 AND cache_hit = 0 THEN output_tokens ELSE 0 END) AS output_tokens,
             SUM(CASE WHEN success = 1 AND cache_hit = 0 THEN latency_ms ELSE 0 END) AS generation_ms,
             SUM(CASE WHEN cache_hit = 0 AND (success = 1 OR error_class IS NULL
               OR NOT (${sql.in("error_class", notTheModelsFaultClasses)})) THEN 1 ELSE 0 END) AS model_calls,
             SUM(CASE WHEN success = 1 AND cache_hit = 0 THEN 1 ELSE 0 END) AS model_successes
      FROM performance_records WHERE ${scoped(f)} GROUP BY model`
  })
  const errors = SqlSchema.findAll({
    Request: MetricsFilter,
    Result: ErrorRow,
    execute: (f) => sql`
      SELECT model, COALESCE(error_class, 'unknown') AS cls, COUNT(*) AS n
      FROM performance_records WHERE ${scoped(f)} AND success = 0 GROUP BY model, cls`
  })
  const buckets = SqlSchema.findAll({
    Request: MetricsFilter,
    Result: BucketRow,
    execute: (f) => sql`
      SELECT model, latency_bucket AS bucket, COUNT(*) AS n
      FROM performance_records WHERE ${scoped(f)} GROUP BY model, latency_bucket`
  })
  const costs = SqlSchema.findAll({
    Request: MetricsFilter,
    Result: CostRow,
    execute: (f) => sql`
      SELECT model, MAX(provider) AS provider, COUNT(*) AS answered, SUM(cache_hit) AS cache_hits,
             CAST(SUM(cost_pico) AS TEXT) AS cost, SUM(prompt_tokens) AS prompt_tokens,
             SUM(completion_tokens) AS completion_tokens, SUM(cached_tokens) AS cached_tokens,
             SUM(cache_write_tokens) AS cache_write_tokens, SUM(reasoning_tokens) AS reasoning_tokens
      FROM cost_records WHERE ${scoped(f)} GROUP BY model`
  })
  const failovers = SqlSchema.findAll({
    Request: MetricsFilter,
    Result: NamedRow,
    execute: (f) => sql`
      SELECT from_model AS model, MAX(provider) AS provider, COUNT(*) AS ok, COUNT(*) AS n FROM failover_events
      WHERE ${failoverScope(f)} GROUP BY from_model`
  })
  const health = SqlSchema.findAll({
    Request: MetricsFilter,
    Result: NamedRow,
    execute: (f) => sql`
      SELECT model, MAX(provider) AS provider, SUM(ok) AS ok, COUNT(*) AS n FROM health_checks
      WHERE ${sql.and([...time(f), sql`source = 'probe'`, ...(f.model !== undefined ? [sql`model = ${f.model}`] : [])])}
      GROUP BY model`
  })

  const aggregate = Effect.fn("MetricsStoreSql.aggregate")(
    function* (filter: MetricsFilter) {
      const out: Aggregate = new Map()
      const at = (model: string): ModelAggregate => {
        const m = out.get(model) ?? emptyModel(model)
        out.set(model, m)
        return m
      }
      const rows = yield* Effect.all({
        perf: perf(filter),
        errors: errors(filter),
        buckets: buckets(filter),
        costs: costs(filter),
        failovers: failovers(filter),
        health: health(filter)
      })
      for (const r of rows.perf) {
        const m = at(r.model)
        m.provider = r.provider
        m.requests = r.requests
        m.successes = r.successes
        m.latencySumMs = r.latency_sum
        m.latencyMaxMs = r.latency_max
        m.outputTokens = r.output_tokens
        m.generationMs = r.generation_ms
        m.modelCalls = r.model_calls
        m.modelSuccesses = r.model_successes
      }
      for (const r of rows.errors) at(r.model).errorsByClass[r.cls] = r.n
      for (const r of rows.buckets) at(r.model).latencyBuckets.set(r.bucket, r.n)
      for (const r of rows.costs) {
        const m = at(r.model)
        m.provider = r.provider
        m.answered = r.answered
        m.cacheHits = r.cache_hits
        m.costPicoUsd = r.cost
        m.promptTokens = r.prompt_tokens
        m.completionTokens = r.completion_tokens
        m.cachedTokens = r.cached_tokens
        m.cacheWriteTokens = r.cache_write_tokens
        m.reasoningTokens = r.reasoning_tokens
      }
      for (const r of rows.failovers) {
        const m = at(r.model)
        if (m.provider === "" && r.provider !== null) m.provider = r.provider
        m.failovers = r.n
      }
      for (const r of rows.health) {
        const m = at(r.model)
        if (m.provider === "" && r.provider !== null) m.provider = r.provider
        m.healthOk = r.ok
        m.healthTotal = r.n
      }
      return out
    },
    Effect.mapError((error) => new StoreError({ operation: "metrics.aggregate", reason: describeSqlError(error) }))
  )
  return MetricsStore.of({ aggregate })
})

/** The SQL metrics store (needs a migrated `SqlClient`). */
export const layer: Layer.Layer<MetricsStore, never, SqlClient.SqlClient> = Layer.effect(MetricsStore, make)
