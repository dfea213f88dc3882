/**
 * The JSON shape of metrics: a Schema, so the HTTP layer can serve and encode
 * it (`costPicoUsd` encodes as a decimal string, everything else as numbers).
 */
import { Schema } from "effect"

/** Which records to include: `from` inclusive, `to` exclusive (epoch ms), and equality filters. */
export const MetricsFilter = Schema.Struct({
  from: Schema.optional(Schema.Number),
  to: Schema.optional(Schema.Number),
  model: Schema.optional(Schema.String),
  provider: Schema.optional(Schema.String),
  agentType: Schema.optional(Schema.String)
})
export type MetricsFilter = typeof MetricsFilter.Type

const Ratio = Schema.NullOr(Schema.Number)

/** Latency percentiles (log-bucketed, within 5% of the exact value) and the exact mean, in ms; null without data. */
export const LatencySummary = Schema.Struct({
  p50: Ratio,
  p95: Ratio,
  p99: Ratio,
  mean: Ratio,
  max: Ratio
})
export type LatencySummary = typeof LatencySummary.Type

/**
 * The numbers of one model or of all of them.
 *
 * - `requests`: provider calls and cache hits (performance records); `errors` the failed ones.
 * - `answered`: requests that produced an answer and a cost record; `cacheHits` among them.
 * - `cachedTokens` (prompt-cache reads) and `cacheWriteTokens` are parts of `promptTokens`,
 *   `reasoningTokens` a part of `completionTokens` (a breakdown; `totalTokens` counts each token once).
 * - `availability`: the share of successful health probes; with no probe, the success rate of its calls, without
 *   cache hits and failures the model is not to blame for (`PerformanceMonitor/Counted.ts`: a 400, its client gone,
 *   a call never sent). The health records real calls leave are not counted (one per failure but only the successes
 *   that change its health).
 * - derived: `errorRate` = errors / requests, `costPer1kTokensUsd` = cost / (prompt + completion tokens) x 1000,
 *   `costPerSuccessUsd` = cost / answered, `tokensPerSecond` = output tokens / generation time of provider answers.
 */
export const MetricsSummary = Schema.Struct({
  requests: Schema.Number,
  successes: Schema.Number,
  errors: Schema.Number,
  errorsByClass: Schema.Record({ key: Schema.String, value: Schema.Number }),
  answered: Schema.Number,
  cacheHits: Schema.Number,
  cacheHitRate: Ratio,
  costPicoUsd: Schema.BigInt,
  costUsd: Schema.Number,
  promptTokens: Schema.Number,
  completionTokens: Schema.Number,
  cachedTokens: Schema.Number,
  cacheWriteTokens: Schema.Number,
  reasoningTokens: Schema.Number,
  totalTokens: Schema.Number,
  latencyMs: LatencySummary,
  failovers: Schema.Number,
  availability: Ratio,
  errorRate: Ratio,
  costPer1kTokensUsd: Ratio,
  costPerSuccessUsd: Ratio,
  tokensPerSecond: Ratio
})
export type MetricsSummary = typeof MetricsSummary.Type

/** One model's numbers. */
export const ModelMetrics = Schema.Struct({
  model: Schema.String,
  provider: Schema.String,
  metrics: MetricsSummary
})
export type ModelMetrics = typeof ModelMetrics.Type

/** Metrics over a filter: totals and per model. `source` says whether they come from live counters or the store. */
export class MetricsSnapshot extends Schema.Class<MetricsSnapshot>("MetricsSnapshot")({
  generatedAt: Schema.Number,
  source: Schema.Literal("live", "store"),
  filter: MetricsFilter,
  totals: MetricsSummary,
  models: Schema.Array(ModelMetrics)
}) {}
