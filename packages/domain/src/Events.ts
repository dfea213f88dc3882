/**
 * GatewayEvent: every event the system emits, one tagged union. `at` is epoch
 * milliseconds from the gateway's Clock.
 */
import { Schema } from "effect"

/**
 * Every event's time, and the gateway instance that published it: set on an
 * event another instance on the same database published (read from the
 * shared log, `events.syncIntervalMs`), absent on the instance's own.
 */
const at = { at: Schema.Number, instance: Schema.optional(Schema.String) }

/**
 * The request a per-request event is about: its id and its agent type (its
 * `TaskRequirements.agentType`; `/v1/events` shows a team the events of its
 * own requests only).
 */
const ofRequest = { requestId: Schema.optional(Schema.String), agentType: Schema.optional(Schema.String) }

/** A model was chosen for a request. */
export class ModelSelected extends Schema.TaggedClass<ModelSelected>()("ModelSelected", {
  ...at,
  ...ofRequest,
  model: Schema.String,
  score: Schema.Number,
  reason: Schema.String
}) {}

/** Usage of a model's requests or tokens crossed the warning threshold (default 90%) in this window. */
export class RateLimitWarning extends Schema.TaggedClass<RateLimitWarning>()("RateLimitWarning", {
  ...at,
  model: Schema.String,
  dimension: Schema.Literal("requests", "tokens"),
  used: Schema.Number,
  limit: Schema.Number
}) {}

/**
 * The API key of the provider an event is about: its position among the
 * publishing instance's keys (`openai#1`, which another instance, or this one
 * after a reload, may give another key) and its fingerprint
 * (`openai~3fa9c2d1e07b4a55`: the same key on every instance, as cost records
 * and `/admin/costs?by=key` name it; absent from events of older versions).
 */
const ofKey = { keyId: Schema.optional(Schema.String), keyFingerprint: Schema.optional(Schema.String) }

/**
 * A model reached its limit; `retryAfterMs` says when a request will fit
 * again. With `keyId` (and `keyFingerprint`), only that API key of the
 * model's provider is limited (the model may run on another); without, the
 * model itself is: its own window is full, or the provider refuses every key
 * of it (`retryAfterMs`: until the first key frees).
 */
export class RateLimitedEvent extends Schema.TaggedClass<RateLimitedEvent>()("RateLimited", {
  ...at,
  model: Schema.String,
  dimension: Schema.Literal("requests", "tokens", "provider"),
  retryAfterMs: Schema.Number,
  ...ofKey
}) {}

/** A rate-limited model (with `keyId` and `keyFingerprint`: that key of it) has room again. */
export class WindowReset extends Schema.TaggedClass<WindowReset>()("WindowReset", {
  ...at,
  model: Schema.String,
  ...ofKey
}) {}

/** Health status of a model. */
export const HealthStatus = Schema.Literal("unknown", "available", "unavailable")
export type HealthStatus = typeof HealthStatus.Type

/** A model's health status changed. */
export class HealthChanged extends Schema.TaggedClass<HealthChanged>()("HealthChanged", {
  ...at,
  model: Schema.String,
  from: HealthStatus,
  to: HealthStatus,
  reason: Schema.String
}) {}

/** A request moved from one model to the next. */
export class FailoverEvent extends Schema.TaggedClass<FailoverEvent>()("Failover", {
  ...at,
  ...ofRequest,
  from: Schema.String,
  to: Schema.String,
  reason: Schema.String,
  attempt: Schema.Int,
  elapsedMs: Schema.Number
}) {}

/** One model failed over more than the configured number of times within a window. */
export class ExcessiveFailover extends Schema.TaggedClass<ExcessiveFailover>()("ExcessiveFailover", {
  ...at,
  model: Schema.String,
  count: Schema.Int,
  windowMs: Schema.Number
}) {}

/** A budget crossed one of its alert thresholds (once per period). */
export class BudgetThresholdCrossed extends Schema.TaggedClass<BudgetThresholdCrossed>()("BudgetThresholdCrossed", {
  ...at,
  budget: Schema.String,
  period: Schema.String,
  threshold: Schema.Number,
  spentUsd: Schema.Number,
  limitUsd: Schema.Number
}) {}

/** A budget is spent; requests on it are refused until the period ends. */
export class BudgetExceededEvent extends Schema.TaggedClass<BudgetExceededEvent>()("BudgetExceeded", {
  ...at,
  budget: Schema.String,
  period: Schema.String,
  spentUsd: Schema.Number,
  limitUsd: Schema.Number
}) {}

/** Recent latency or error rate of a model is worse than its baseline. */
export class PerformanceDegraded extends Schema.TaggedClass<PerformanceDegraded>()("PerformanceDegraded", {
  ...at,
  model: Schema.String,
  metric: Schema.Literal("latency", "error_rate"),
  baseline: Schema.Number,
  recent: Schema.Number
}) {}

/** A degraded model is back within its thresholds. */
export class PerformanceRecovered extends Schema.TaggedClass<PerformanceRecovered>()("PerformanceRecovered", {
  ...at,
  model: Schema.String,
  metric: Schema.Literal("latency", "error_rate"),
  baseline: Schema.Number,
  recent: Schema.Number
}) {}

/** An answer scored below the quality threshold. */
export class LowQualityResponse extends Schema.TaggedClass<LowQualityResponse>()("LowQualityResponse", {
  ...at,
  ...ofRequest,
  model: Schema.String,
  taskType: Schema.optional(Schema.String),
  score: Schema.Number
}) {}

/** A model scored low too often for a task type: the selector lowers it until it recovers. */
export class ModelSwitchRecommended extends Schema.TaggedClass<ModelSwitchRecommended>()("ModelSwitchRecommended", {
  ...at,
  model: Schema.String,
  taskType: Schema.optional(Schema.String),
  lowScores: Schema.Int,
  windowMs: Schema.Number,
  /**
   * The agent types of the requests whose low scores made it (those that
   * named one): `/v1/events` shows a team a recommendation for a task type
   * only when its own requests are among them (a task type is the
   * requests' own, as their agent type is).
   */
  agentTypes: Schema.optional(Schema.Array(Schema.String))
}) {}

/** A new configuration was applied. */
export class ConfigReloaded extends Schema.TaggedClass<ConfigReloaded>()("ConfigReloaded", {
  ...at,
  source: Schema.String
}) {}

/** A configuration change was rejected; the running configuration stays. */
export class ConfigRejected extends Schema.TaggedClass<ConfigRejected>()("ConfigRejected", {
  ...at,
  file: Schema.String,
  reason: Schema.String
}) {}

/** The gateway runs degraded (monitoring store failing, every candidate unavailable, ...). */
export class DegradedModeEntered extends Schema.TaggedClass<DegradedModeEntered>()("DegradedModeEntered", {
  ...at,
  component: Schema.String,
  reason: Schema.String
}) {}

/** The gateway left degraded mode. */
export class DegradedModeLeft extends Schema.TaggedClass<DegradedModeLeft>()("DegradedModeLeft", {
  ...at,
  component: Schema.String
}) {}

/** Every event the gateway emits. */
export const GatewayEvent = Schema.Union(
  ModelSelected,
  RateLimitWarning,
  RateLimitedEvent,
  WindowReset,
  HealthChanged,
  FailoverEvent,
  ExcessiveFailover,
  BudgetThresholdCrossed,
  BudgetExceededEvent,
  PerformanceDegraded,
  PerformanceRecovered,
  LowQualityResponse,
  ModelSwitchRecommended,
  ConfigReloaded,
  ConfigRejected,
  DegradedModeEntered,
  DegradedModeLeft
)
export type GatewayEvent = typeof GatewayEvent.Type
