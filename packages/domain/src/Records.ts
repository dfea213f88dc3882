/**
 * Records the gateway keeps: what each request cost and how it went, health
 * checks, rate-limit, failover and budget events, quality scores. They travel
 * through the `RecordSink` (a bounded write-behind queue) into the store.
 */
import { Schema } from "effect"

const at = { at: Schema.Number }

/**
 * What one answered request cost. Keys appear only as their non-secret id.
 * `cachedTokens` (prompt-cache reads) and `cacheWriteTokens` (prompt-cache
 * writes) are parts of `promptTokens`, `reasoningTokens` (OpenAI's reasoning,
 * Gemini's thoughts, Anthropic's thinking) a part of `completionTokens`: a
 * breakdown of what the cost includes, never counted twice. Records made
 * without them (and rows stored before them) hold 0.
 */
export class CostRecord extends Schema.TaggedClass<CostRecord>()("CostRecord", {
  ...at,
  requestId: Schema.String,
  model: Schema.String,
  provider: Schema.String,
  apiKeyId: Schema.optional(Schema.String),
  agentType: Schema.optional(Schema.String),
  taskType: Schema.optional(Schema.String),
  promptTokens: Schema.NonNegativeInt,
  completionTokens: Schema.NonNegativeInt,
  cachedTokens: Schema.NonNegativeInt,
  cacheWriteTokens: Schema.optionalWith(Schema.NonNegativeInt, { default: () => 0 }),
  reasoningTokens: Schema.optionalWith(Schema.NonNegativeInt, { default: () => 0 }),
  costPicoUsd: Schema.NonNegativeInt,
  cacheHit: Schema.Boolean
}) {}

/** How one provider call (or cache hit) performed. */
export class PerformanceRecord extends Schema.TaggedClass<PerformanceRecord>()("PerformanceRecord", {
  ...at,
  requestId: Schema.String,
  model: Schema.String,
  provider: Schema.String,
  agentType: Schema.optional(Schema.String),
  latencyMs: Schema.NonNegative,
  timeToFirstTokenMs: Schema.optional(Schema.NonNegative),
  success: Schema.Boolean,
  errorClass: Schema.optional(Schema.String),
  outputTokens: Schema.NonNegativeInt,
  streamed: Schema.Boolean,
  cacheHit: Schema.Boolean
}) {}

/** One health probe, or a passive signal from real traffic. */
export class HealthCheckRecord extends Schema.TaggedClass<HealthCheckRecord>()("HealthCheckRecord", {
  ...at,
  model: Schema.String,
  /** The model's provider, when the registry knows the model (metrics label its series with it). */
  provider: Schema.optional(Schema.String),
  ok: Schema.Boolean,
  latencyMs: Schema.NonNegative,
  errorClass: Schema.optional(Schema.String),
  source: Schema.Literal("probe", "traffic")
}) {}

/** A rate-limit warning, limit reached, or window reset. */
export class RateLimitEventRecord extends Schema.TaggedClass<RateLimitEventRecord>()("RateLimitEventRecord", {
  ...at,
  model: Schema.String,
  kind: Schema.Literal("warning", "limited", "reset"),
  dimension: Schema.optional(Schema.String),
  detail: Schema.String
}) {}

/** A request moved from one model to another (or ran out of candidates: `to` absent). */
export class FailoverRecord extends Schema.TaggedClass<FailoverRecord>()("FailoverRecord", {
  ...at,
  requestId: Schema.optional(Schema.String),
  from: Schema.String,
  /** The provider of `from` (metrics label its failovers with it, as its other series); rows from before it have none. */
  provider: Schema.optional(Schema.String),
  /**
   * The request's agent type (a team's `/v1/metrics` counts its own failovers
   * only); rows from before it have none, and count for no team.
   */
  agentType: Schema.optional(Schema.String),
  to: Schema.optional(Schema.String),
  reason: Schema.String,
  attempt: Schema.Int,
  elapsedMs: Schema.NonNegative
}) {}

/** The evaluator's scores for one answer. */
export class QualityScoreRecord extends Schema.TaggedClass<QualityScoreRecord>()("QualityScoreRecord", {
  ...at,
  requestId: Schema.String,
  model: Schema.String,
  taskType: Schema.optional(Schema.String),
  completeness: Schema.Number,
  relevance: Schema.Number,
  coherence: Schema.Number,
  score: Schema.Number,
  lowQuality: Schema.Boolean
}) {}

/**
 * A budget crossed a threshold (or was exceeded). The limit is exact (a
 * `bigint`: a threshold is one per limit, and limits of thousands of dollars
 * exceed a safe integer of pico-dollars); the spend, for reading only, is
 * capped at ~$9,007.
 */
export class BudgetAlertRecord extends Schema.TaggedClass<BudgetAlertRecord>()("BudgetAlertRecord", {
  ...at,
  budget: Schema.String,
  period: Schema.String,
  periodStart: Schema.Number,
  threshold: Schema.Number,
  spentPicoUsd: Schema.NonNegativeInt,
  limitPicoUsd: Schema.NonNegativeBigIntFromSelf
}) {}

/** Any record. */
export const GatewayRecord = Schema.Union(
  CostRecord,
  PerformanceRecord,
  HealthCheckRecord,
  RateLimitEventRecord,
  FailoverRecord,
  QualityScoreRecord,
  BudgetAlertRecord
)
export type GatewayRecord = typeof GatewayRecord.Type
