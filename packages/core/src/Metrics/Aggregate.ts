/**
 * Mergeable metric aggregates: what a `MetricsStore` returns and what the live
 * counters hold. Latencies are kept as counts per log bucket (ratio 1.05), so
 * store results, unflushed records and live counters merge exactly and
 * percentiles stay within 5% in bounded memory.
 */
import { toUsd } from "@modelgate/domain/Money"
import type { GatewayRecord } from "@modelgate/domain/Records"
import { counted } from "../PerformanceMonitor/Counted.js"
import { type MetricsFilter, MetricsSnapshot, type MetricsSummary, type ModelMetrics } from "./Snapshot.js"

const RATIO = 1.05
const LOG_RATIO = Math.log(RATIO)

/** The log bucket of a latency: 0 for <= 1 ms, else the `i` with 1.05^(i-1) < ms <= 1.05^i. */
export const latencyBucket = (ms: number): number => (ms <= 1 ? 0 : Math.max(1, Math.ceil(Math.log(ms) / LOG_RATIO - 1e-9)))

/** The upper bound of a latency bucket, in ms. */
export const bucketUpperMs = (bucket: number): number => RATIO ** bucket

/** Mergeable sums of one model. */
export interface ModelAggregate {
  model: string
  provider: string
  requests: number
  successes: number
  errorsByClass: Record<string, number>
  latencySumMs: number
  latencyMaxMs: number
  latencyBuckets: Map<number, number>
  outputTokens: number
  generationMs: number
  answered: number
  cacheHits: number
  costPicoUsd: bigint
  promptTokens: number
  completionTokens: number
  cachedTokens: number
  cacheWriteTokens: number
  reasoningTokens: number
  failovers: number
  /** Calls that count in the model's figures (`PerformanceMonitor/Counted.ts`) and, of them, the ones that succeeded. */
  modelCalls: number
  modelSuccesses: number
  /** Health probes (not the records real calls leave) and, of them, the ones that succeeded. */
  healthOk: number
  healthTotal: number
}

/** Sums per model (or per model and provider: see `addRecord`). */
export type Aggregate = Map<string, ModelAggregate>

/** The key of a model's sums on `provider` in an aggregate keyed by model and provider (see `addRecord`). */
export const seriesKey = (model: string, provider: string): string => `${model}\u0000${provider}`

/** An empty model aggregate. */
export const emptyModel = (model: string, provider = ""): ModelAggregate => ({
  model,
  provider,
  requests: 0,
  successes: 0,
  errorsByClass: {},
  latencySumMs: 0,
  latencyMaxMs: 0,
  latencyBuckets: new Map(),
  outputTokens: 0,
  generationMs: 0,
  answered: 0,
  cacheHits: 0,
  costPicoUsd: 0n,
  promptTokens: 0,
  completionTokens: 0,
  cachedTokens: 0,
  cacheWriteTokens: 0,
  reasoningTokens: 0,
  failovers: 0,
  modelCalls: 0,
  modelSuccesses: 0,
  healthOk: 0,
  healthTotal: 0
})

const entry = (aggregate: Aggregate, providers: Map<string, string> | undefined, model: string, provider?: string): ModelAggregate => {
  let key = model
  if (providers !== undefined) {
    if (provider !== undefined && provider !== "") providers.set(model, provider)
    else provider = providers.get(model)
    key = seriesKey(model, provider ?? "")
  }
  let m = aggregate.get(key)
  if (m === undefined) {
    m = emptyModel(model, provider)
    aggregate.set(key, m)
  }
  if (provider !== undefined && provider !== "") m.provider = provider
  return m
}

/**
 * Whether `record` passes `filter`. Provider and agent-type filters scope by the
 * request records (health records carry no agent type, and name a provider
 * only for the labels, older ones none): see `toSnapshot`. A failover record
 * passes an agent-type filter when it names that agent type (older ones name
 * none: they count for no team).
 */
export const recordMatches = (record: GatewayRecord, filter: MetricsFilter): boolean => {
  if (filter.from !== undefined && record.at < filter.from) return false
  if (filter.to !== undefined && record.at >= filter.to) return false
  switch (record._tag) {
    case "PerformanceRecord":
    case "CostRecord":
      return (
        (filter.model === undefined || record.model === filter.model) &&
        (filter.provider === undefined || record.provider === filter.provider) &&
        (filter.agentType === undefined || record.agentType === filter.agentType)
      )
    case "FailoverRecord":
      return (
        (filter.model === undefined || record.from === filter.model) &&
        (filter.agentType === undefined || record.agentType === filter.agentType)
      )
    case "HealthCheckRecord":
      return filter.model === undefined || record.model === filter.model
    default:
      return false
  }
}

/**
 * Add one record to an aggregate keyed by model (records other than
 * performance, cost, failover and health probes are ignored). With `providers`
 * (each model's latest provider, kept up to date here) the aggregate is keyed
 * by model and provider instead, as `/metrics` labels its series: each label
 * set counts what the model did on that provider, so a model moved to another
 * provider starts new series and leaves its old ones as they were; a record
 * naming no provider counts under its model's latest one.
 */
export const addRecord = (aggregate: Aggregate, record: GatewayRecord, providers?: Map<string, string>): void => {
  switch (record._tag) {
    case "PerformanceRecord": {
      const m = entry(aggregate, providers, record.model, record.provider)
      m.requests += 1
      if (record.success) m.successes += 1
      if (counted(record)) {
        m.modelCalls += 1
        if (record.success) m.modelSuccesses += 1
      }
      if (!record.success) {
        const cls = record.errorClass ?? "unknown"
        m.errorsByClass[cls] = (m.errorsByClass[cls] ?? 0) + 1
      }
      m.latencySumMs += record.latencyMs
      m.latencyMaxMs = Math.max(m.latencyMaxMs, record.latencyMs)
      const bucket = latencyBucket(record.latencyMs)
      m.latencyBuckets.set(bucket, (m.latencyBuckets.get(bucket) ?? 0) + 1)
      if (record.success && !record.cacheHit) {
        m.outputTokens += record.outputTokens
        m.generationMs += record.latencyMs
      }
      return
    }
    case "CostRecord": {
      const m = entry(aggregate, providers, record.model, record.provider)
      m.answered += 1
      if (record.cacheHit) m.cacheHits += 1
      m.costPicoUsd += BigInt(record.costPicoUsd)
      m.promptTokens += record.promptTokens
      m.completionTokens += record.completionTokens
      m.cachedTokens += record.cachedTokens
      m.cacheWriteTokens += record.cacheWriteTokens
      m.reasoningTokens += record.reasoningTokens
      return
    }
    case "FailoverRecord":
      entry(aggregate, providers, record.from, record.provider).failovers += 1
      return
    case "HealthCheckRecord": {
      // Probes only: real calls leave one record per failure but only the successes that change
      // the model's health, no sample of its calls (their success rate counts them all).
      if (record.source !== "probe") return
      const m = entry(aggregate, providers, record.model, record.provider)
      m.healthTotal += 1
      if (record.ok) m.healthOk += 1
      return
    }
    default:
      return
  }
}

/** Aggregate the records that pass `filter`. */
export const aggregateRecords = (records: Iterable<GatewayRecord>, filter: MetricsFilter): Aggregate => {
  const aggregate: Aggregate = new Map()
  for (const record of records) if (recordMatches(record, filter)) addRecord(aggregate, record)
  return aggregate
}

/** Add `from` into `into` (mutates `into`). */
export const mergeModel = (into: ModelAggregate, from: ModelAggregate): void => {
  if (from.provider !== "") into.provider = from.provider
  into.requests += from.requests
  into.successes += from.successes
  for (const [cls, n] of Object.entries(from.errorsByClass)) into.errorsByClass[cls] = (into.errorsByClass[cls] ?? 0) + n
  into.latencySumMs += from.latencySumMs
  into.latencyMaxMs = Math.max(into.latencyMaxMs, from.latencyMaxMs)
  for (const [b, n] of from.latencyBuckets) into.latencyBuckets.set(b, (into.latencyBuckets.get(b) ?? 0) + n)
  into.outputTokens += from.outputTokens
  into.generationMs += from.generationMs
  into.answered += from.answered
  into.cacheHits += from.cacheHits
  into.costPicoUsd += from.costPicoUsd
  into.promptTokens += from.promptTokens
  into.completionTokens += from.completionTokens
  into.cachedTokens += from.cachedTokens
  into.cacheWriteTokens += from.cacheWriteTokens
  into.reasoningTokens += from.reasoningTokens
  into.failovers += from.failovers
  into.modelCalls += from.modelCalls
  into.modelSuccesses += from.modelSuccesses
  into.healthOk += from.healthOk
  into.healthTotal += from.healthTotal
}

/** The union of two aggregates, as a new aggregate. */
export const merge = (a: Aggregate, b: Aggregate): Aggregate => {
  const out: Aggregate = new Map()
  for (const source of [a, b]) {
    for (const [model, m] of source) {
      const target = out.get(model) ?? emptyModel(model)
      mergeModel(target, m)
      out.set(model, target)
    }
  }
  return out
}

/**
 * An aggregate keyed by model and provider as one keyed by model: each
 * model's sums over its providers, labelled with its latest (`providers`, as
 * `addRecord` kept it).
 */
export const byModel = (aggregate: Aggregate, providers: ReadonlyMap<string, string>): Aggregate => {
  const out: Aggregate = new Map()
  for (const m of aggregate.values()) {
    let target = out.get(m.model)
    if (target === undefined) {
      target = emptyModel(m.model)
      out.set(m.model, target)
    }
    mergeModel(target, m)
  }
  for (const [model, provider] of providers) {
    const m = out.get(model)
    if (m !== undefined) m.provider = provider
  }
  return out
}

/** The nearest-rank percentile `p` (0..1) of a bucketed latency distribution. */
export const percentile = (m: ModelAggregate, p: number): number | null => {
  if (m.requests === 0) return null
  const rank = Math.max(1, Math.ceil(p * m.requests))
  let seen = 0
  for (const bucket of [...m.latencyBuckets.keys()].sort((x, y) => x - y)) {
    seen += m.latencyBuckets.get(bucket) ?? 0
    if (seen >= rank) return Math.min(bucketUpperMs(bucket), m.latencyMaxMs)
  }
  return m.latencyMaxMs
}

const ratio = (n: number, d: number): number | null => (d === 0 ? null : n / d)

/**
 * A model's availability: the share of its health probes that succeeded, or, with no probe, of its
 * calls that count against it (no cache hit, no failure it is not to blame for: a 400, its client
 * gone, a call never sent); undefined with neither.
 */
export const availabilityOf = (m: ModelAggregate): number | undefined =>
  m.healthTotal > 0 ? m.healthOk / m.healthTotal : m.modelCalls > 0 ? m.modelSuccesses / m.modelCalls : undefined

/** The summary of one aggregate. */
export const summary = (m: ModelAggregate): MetricsSummary => {
  const costUsd = toUsd(m.costPicoUsd)
  const tokens = m.promptTokens + m.completionTokens
  return {
    requests: m.requests,
    successes: m.successes,
    errors: m.requests - m.successes,
    errorsByClass: { ...m.errorsByClass },
    answered: m.answered,
    cacheHits: m.cacheHits,
    cacheHitRate: ratio(m.cacheHits, m.answered),
    costPicoUsd: m.costPicoUsd,
    costUsd,
    promptTokens: m.promptTokens,
    completionTokens: m.completionTokens,
    cachedTokens: m.cachedTokens,
    cacheWriteTokens: m.cacheWriteTokens,
    reasoningTokens: m.reasoningTokens,
    totalTokens: tokens,
    latencyMs: {
      p50: percentile(m, 0.5),
      p95: percentile(m, 0.95),
      p99: percentile(m, 0.99),
      mean: ratio(m.latencySumMs, m.requests),
      max: m.requests === 0 ? null : m.latencyMaxMs
    },
    failovers: m.failovers,
    availability: availabilityOf(m) ?? null,
    errorRate: ratio(m.requests - m.successes, m.requests),
    costPer1kTokensUsd: tokens === 0 ? null : (costUsd * 1000) / tokens,
    costPerSuccessUsd: ratio(costUsd, m.answered),
    tokensPerSecond: m.generationMs === 0 ? null : (m.outputTokens * 1000) / m.generationMs
  }
}

/**
 * The snapshot of an aggregate. With a provider or agent-type filter, models
 * with no request or cost in the filtered set are left out, so their health
 * checks (which carry no agent type) do not leak in; with a provider filter
 * alone, a model of that provider known only from its health checks (which
 * name it) stays; with an agent-type filter, a model known only from that
 * agent type's own failovers (the local limiter refused it before any call)
 * stays, when of the filter's provider.
 */
export const toSnapshot = (
  aggregate: Aggregate,
  filter: MetricsFilter,
  source: "live" | "store",
  generatedAt: number
): MetricsSnapshot => {
  const scoped = filter.provider !== undefined || filter.agentType !== undefined
  const models = [...aggregate.values()]
    .filter((m) =>
      !scoped || m.requests > 0 || m.answered > 0 ||
      (filter.agentType === undefined && m.healthTotal > 0 && m.provider === filter.provider) ||
      (filter.agentType !== undefined && m.failovers > 0 && (filter.provider === undefined || m.provider === filter.provider))
    )
    .sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : 0))
  const totals = emptyModel("*")
  for (const m of models) mergeModel(totals, m)
  const perModel: Array<ModelMetrics> = models.map((m) => ({ model: m.model, provider: m.provider, metrics: summary(m) }))
  return MetricsSnapshot.make({ generatedAt, source, filter, totals: summary(totals), models: perModel })
}
