/**
 * The selector's pure scoring: priority-adjusted weights and the four score
 * parts, each in 0..1 with a human explanation. No effects here, so every rule
 * is testable on plain values.
 */
import type { Capability, ModelMetadata } from "@modelgate/domain/Model"
import type { Priority } from "@modelgate/domain/Requirements"
import type { Headroom } from "../RateLimiter.js"
import type { ModelHealth } from "../HealthChecker.js"
import type { ModelPerformance } from "../PerformanceMonitor.js"
import type { ScoreParts } from "../ModelSelector.js"

const clamp01 = (n: number): number => (Number.isFinite(n) ? Math.min(1, Math.max(0, n)) : 0)
const fmt = (n: number): string => n.toFixed(2)

/**
 * The weights for a priority, from the configured base weights (normalised to
 * sum 1; all zero means equal weights):
 *
 * - MEDIUM: the base weights.
 * - HIGH: 60% of the cost weight moves away from cost, half to capability and half to performance.
 * - CRITICAL: 90% of the cost weight moves the same way.
 * - LOW: a third of the capability weight and a third of the performance weight move to cost.
 *
 * Availability keeps its weight at every priority. With the default weights
 * (.30/.25/.25/.20): HIGH = .375/.10/.325/.20, CRITICAL = .4125/.025/.3625/.20,
 * LOW = .20/.4167/.1667/.20 (capability/cost/performance/availability).
 */
export const priorityWeights = (base: ScoreParts, priority: Priority): ScoreParts => {
  const sum = base.capability + base.cost + base.performance + base.availability
  const w: ScoreParts = sum > 0
    ? {
      capability: base.capability / sum,
      cost: base.cost / sum,
      performance: base.performance / sum,
      availability: base.availability / sum
    }
    : { capability: 0.25, cost: 0.25, performance: 0.25, availability: 0.25 }
  switch (priority) {
    case "MEDIUM":
      return w
    case "HIGH":
    case "CRITICAL": {
      const moved = w.cost * (priority === "HIGH" ? 0.6 : 0.9)
      return {
        capability: w.capability + moved / 2,
        cost: w.cost - moved,
        performance: w.performance + moved / 2,
        availability: w.availability
      }
    }
    case "LOW": {
      const fromCapability = w.capability / 3
      const fromPerformance = w.performance / 3
      return {
        capability: w.capability - fromCapability,
        cost: w.cost + fromCapability + fromPerformance,
        performance: w.performance - fromPerformance,
        availability: w.availability
      }
    }
  }
}

/** The capabilities that suit a task type (lower-case), for the capability part's task fit. */
export const taskCapabilities: Readonly<Record<string, ReadonlyArray<Capability>>> = {
  code: ["code"],
  coding: ["code"],
  reasoning: ["reasoning"],
  analysis: ["reasoning"],
  math: ["reasoning"],
  planning: ["reasoning"],
  extraction: ["json_mode"],
  json: ["json_mode"],
  classification: ["json_mode"],
  summarization: ["long_context"],
  summarisation: ["long_context"],
  vision: ["vision"],
  agent: ["tools"],
  tools: ["tools"]
}

/** A part's value and the line that explains it. */
export interface Part {
  readonly value: number
  readonly line: string
}

/** A model's fit to a task type, 0..1, and (when asked) why. */
const taskFit = (model: ModelMetadata, taskType: string | undefined, explain: boolean): { readonly fit: number; readonly why: string } => {
  if (taskType === undefined) return { fit: 0.5, why: "no task type" }
  const task = taskType.toLowerCase()
  const preferred = taskCapabilities[task] ?? []
  if (model.tags.some((t) => t.toLowerCase() === task)) return { fit: 1, why: explain ? `tagged ${task}` : "" }
  if (preferred.length > 0) {
    const have = preferred.filter((c) => model.capabilities.includes(c))
    return { fit: have.length / preferred.length, why: explain ? `${have.length}/${preferred.length} of ${preferred.join(", ")} for ${task}` : "" }
  }
  return { fit: 0, why: explain ? `no tag or capability for ${task}` : "" }
}

/**
 * Capability: 80% the model's quality score, 20% its fit to the task type
 * (1 when a model tag names the task type, else the share of the task's
 * preferred capabilities it has; 0.5 when the request names no task type).
 */
export const capabilityValue = (model: ModelMetadata, taskType: string | undefined): number =>
  clamp01(0.8 * model.qualityScore + 0.2 * taskFit(model, taskType, false).fit)

/** The capability part and its explanation line (see `capabilityValue`). */
export const capabilityPart = (model: ModelMetadata, taskType: string | undefined): Part => {
  const { fit, why } = taskFit(model, taskType, true)
  const value = clamp01(0.8 * model.qualityScore + 0.2 * fit)
  return { value, line: `capability ${fmt(value)}: quality ${fmt(model.qualityScore)}, task fit ${fmt(fit)} (${why})` }
}

/** The log scale costs are compared on: log10(1 + micro-dollars). Strictly increasing. */
export const costScale = (picoUsd: number): number => Math.log10(1 + Math.max(0, picoUsd) / 1_000_000)

/** The smallest span (in decades of cost) the cost part is spread over. */
export const minCostSpanDecades = 2

/**
 * Cost: cheaper is higher, log-scaled across the candidate set: 1 for the
 * cheapest, falling linearly in log(cost) to 0 at the dearest, but over at
 * least two decades (so a 10x dearer model scores 0.5, not 0, when it is
 * the dearest), and 1 for everyone when they cost the same.
 */
export const costValue = (picoUsd: number, cheapest: number, dearest: number): number => {
  const lo = costScale(cheapest)
  const span = Math.max(costScale(dearest) - lo, minCostSpanDecades)
  return clamp01(1 - (costScale(picoUsd) - lo) / span)
}

/** The cost part and its explanation line (see `costValue`). */
export const costPart = (picoUsd: number, cheapest: number, dearest: number): Part => {
  const value = costValue(picoUsd, cheapest, dearest)
  const usd = (p: number) => `$${(p / 1e12).toFixed(6)}`
  return {
    value,
    line: `cost ${fmt(value)}: estimated ${usd(picoUsd)} (candidates from ${usd(cheapest)} to ${usd(dearest)}, log scale)`
  }
}

/** The latency a model is compared against when the request sets no `maxLatencyMs`. */
export const referenceLatencyMs = 2_000

/**
 * Latency score from the mean of p50 and p95, strictly decreasing:
 * with a cap, 1 - 0.5 x latency/cap up to the cap and 0.5 x cap/latency beyond;
 * without, ref / (ref + latency) with ref = 2 s.
 */
export const latencyScore = (latencyMs: number, maxLatencyMs: number | undefined): number => {
  const l = Math.max(0, latencyMs)
  if (maxLatencyMs !== undefined) return l <= maxLatencyMs ? 1 - 0.5 * (l / maxLatencyMs) : 0.5 * (maxLatencyMs / l)
  return referenceLatencyMs / (referenceLatencyMs + l)
}

/** The neutral performance: of a model with no recent calls when no candidate is well measured. */
export const neutralPerformance = 0.5

/**
 * A model's own performance from its recent calls, 0..1, before any prior or
 * penalty: 0.6 x latency score + 0.4 x success rate (undefined with no data).
 * The latency score is that of answers: with no successful call in the window
 * (the monitor then reports the failures' latencies) it is 0, so a model that
 * fails fast never scores above one with no data or one that answers slowly.
 */
export const measuredPerformance = (perf: ModelPerformance | undefined, maxLatencyMs: number | undefined): number | undefined => {
  if (perf === undefined || perf.requests <= 0) return undefined
  const latency = (perf.latencyP50Ms + perf.latencyP95Ms) / 2
  const ls = perf.successRate > 0 ? latencyScore(latency, maxLatencyMs) : 0
  return clamp01(0.6 * ls + 0.4 * clamp01(perf.successRate))
}

/**
 * The prior a ranking gives models with few recent calls: the best measured
 * performance among the candidates with at least `wellMeasured` calls, and
 * never below the neutral 0.5. With no well-measured candidate (a cold
 * start), 0.5 for everyone, so the other parts decide.
 */
export const performancePrior = (
  perfs: ReadonlyArray<ModelPerformance | undefined>,
  maxLatencyMs: number | undefined,
  wellMeasured: number
): number => {
  let best = neutralPerformance
  for (const perf of perfs) {
    if (perf === undefined || perf.requests < wellMeasured) continue
    const measured = measuredPerformance(perf, maxLatencyMs)
    if (measured !== undefined && measured > best) best = measured
  }
  return best
}

/**
 * Performance: the model's measured performance (`measuredPerformance`),
 * pulled toward `prior` while there are few calls (confidence n / (n + 5)),
 * `prior` with no data; then multiplied by (1 - evaluator penalty). The
 * selector's prior is the best well-measured candidate's (the benefit of the
 * doubt, so that a model whose calls expired is tried again), or the neutral
 * 0.5 for a model whose trial is in flight (`PerformanceMonitor/Trials.ts`).
 */
export const performanceValue = (
  perf: ModelPerformance | undefined,
  maxLatencyMs: number | undefined,
  penalty: number,
  prior: number = neutralPerformance
): number => {
  const p = clamp01(penalty)
  const measured = measuredPerformance(perf, maxLatencyMs)
  if (perf === undefined || measured === undefined) return clamp01(prior * (1 - p))
  const confidence = perf.requests / (perf.requests + 5)
  return clamp01((prior + confidence * (measured - prior)) * (1 - p))
}

/**
 * The performance part and its explanation line (see `performanceValue`);
 * `trialInFlight`: the neutral prior is that of a model whose trial call is
 * in flight, and the line says so.
 */
export const performancePart = (
  perf: ModelPerformance | undefined,
  maxLatencyMs: number | undefined,
  penalty: number,
  prior: number = neutralPerformance,
  trialInFlight = false
): Part => {
  const p = clamp01(penalty)
  const penaltyNote = p > 0 ? `; evaluator penalty ${fmt(p)}` : ""
  const value = performanceValue(perf, maxLatencyMs, penalty, prior)
  const priorNote = trialInFlight
    ? `neutral ${fmt(prior)} while a trial call of it is in flight`
    : prior === neutralPerformance
    ? `neutral ${fmt(prior)}`
    : `the best measured candidate's ${fmt(prior)}`
  if (perf === undefined || perf.requests <= 0) {
    return { value, line: `performance ${fmt(value)}: no recent data (${priorNote})${penaltyNote}` }
  }
  const against = perf.successRate > 0
    ? maxLatencyMs !== undefined ? `max ${maxLatencyMs} ms` : `${referenceLatencyMs} ms reference`
    : "no answer, no latency credit"
  const few = perf.requests < 5 ? ` (few: pulled toward ${priorNote})` : ""
  return {
    value,
    line: `performance ${fmt(value)}: p50 ${Math.round(perf.latencyP50Ms)} ms / p95 ${Math.round(perf.latencyP95Ms)} ms vs ${against}, ` +
      `success ${(perf.successRate * 100).toFixed(0)}% over ${perf.requests} requests${few}${penaltyNote}`
  }
}

const roomOf = (headroom: Headroom): number =>
  clamp01(
    1 - Math.max(
      headroom.rpm > 0 ? headroom.requestsUsed / headroom.rpm : 0,
      headroom.tpm > 0 ? headroom.tokensUsed / headroom.tpm : 0
    )
  )

/**
 * Availability: 0.6 x health (available 1, never checked 0.8) + 0.4 x the
 * rate-limit headroom left (1 - the larger of requests and tokens used / limit).
 */
export const availabilityValue = (health: ModelHealth, headroom: Headroom): number => {
  const status = health.status === "available" ? 1 : health.status === "unknown" ? 0.8 : 0
  return clamp01(0.6 * status + 0.4 * roomOf(headroom))
}

/** The availability part and its explanation line (see `availabilityValue`). */
export const availabilityPart = (health: ModelHealth, headroom: Headroom): Part => {
  const room = roomOf(headroom)
  const value = availabilityValue(health, headroom)
  return { value, line: `availability ${fmt(value)}: health ${health.status}, ${(room * 100).toFixed(0)}% rate-limit headroom` }
}

/** The weighted total, rounded to 1e-9 so that float noise never decides an order. */
export const totalScore = (parts: ScoreParts, w: ScoreParts): number =>
  Math.round(
    (parts.capability * w.capability + parts.cost * w.cost + parts.performance * w.performance +
      parts.availability * w.availability) * 1e9
  ) / 1e9

/** The weights as one explanation line. */
export const weightsLine = (w: ScoreParts, priority: Priority): string =>
  `weights (${priority}): capability ${w.capability.toFixed(3)}, cost ${w.cost.toFixed(3)}, ` +
  `performance ${w.performance.toFixed(3)}, availability ${w.availability.toFixed(3)}`
