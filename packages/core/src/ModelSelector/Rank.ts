/**
 * The selector's two steps: filter the registry by the hard requirements
 * (saying why each model was left out) and score what is left.
 */
import type { ModelMetadata } from "@modelgate/domain/Model"
import { type PicoUsd, tokenCost, toUsd } from "@modelgate/domain/Money"
import { Effect, Option } from "effect"
import type { CostTracker } from "../CostTracker.js"
import type { HealthChecker, ModelHealth } from "../HealthChecker.js"
import type { ModelRegistry } from "../ModelRegistry.js"
import type { ScoredModel, ScoreParts, SelectionInput } from "../ModelSelector.js"
import type { PerformanceMonitor } from "../PerformanceMonitor.js"
import type { Headroom, RateLimiter } from "../RateLimiter.js"
import type { ResponseEvaluator } from "../ResponseEvaluator.js"
import {
  availabilityPart,
  capabilityPart,
  costPart,
  performancePart,
  priorityWeights,
  totalScore,
  weightsLine
} from "./Scoring.js"

/** The services the selector reads. */
export interface Deps {
  readonly registry: ModelRegistry["Type"]
  readonly health: HealthChecker["Type"]
  readonly limiter: RateLimiter["Type"]
  readonly costs: Option.Option<CostTracker["Type"]>
  readonly monitor: Option.Option<PerformanceMonitor["Type"]>
  readonly evaluator: Option.Option<ResponseEvaluator["Type"]>
}

/** A model that passed every hard requirement, with what the checks learnt. */
export interface Candidate {
  readonly model: ModelMetadata
  /** Position in `only` (0 for every model when `only` is absent). */
  readonly order: number
  readonly costPico: number
  readonly health: ModelHealth
  readonly headroom: Headroom
}

/** A model left out, and (for rate limits) when it will have room. */
export interface Excluded {
  readonly model: string
  readonly reason: string
  readonly kind: "permanent" | "unavailable" | "rate_limited" | "budget"
  readonly retryAfterMs?: number | undefined
}

/** Estimated cost of a request on `model`: CostTracker's price when present, else the model's pricing. */
export const estimateCost = (
  costs: Option.Option<CostTracker["Type"]>,
  model: ModelMetadata,
  promptTokens: number,
  completionTokens: number
): PicoUsd =>
  Option.match(costs, {
    onSome: (c) => c.cost(model, { promptTokens, completionTokens, cachedTokens: 0 }),
    onNone: () =>
      (tokenCost(promptTokens, model.pricing.inputPerMillion) +
        tokenCost(completionTokens, model.pricing.outputPerMillion)) as PicoUsd
  })

const candidatesOf = (registry: ModelRegistry["Type"], only: ReadonlyArray<string> | undefined) =>
  Effect.gen(function*() {
    const all = yield* registry.all
    if (only === undefined) return { models: all.map((model) => ({ model, order: 0 })), missing: [] as Array<string> }
    const byId = new Map(all.map((m) => [m.id as string, m] as const))
    const models: Array<{ model: ModelMetadata; order: number }> = []
    const missing: Array<string> = []
    const seen = new Set<string>()
    for (const [order, name] of only.entries()) {
      const found = byId.get(name) ?? Option.getOrUndefined(yield* Effect.option(registry.resolve(name)))
      if (found === undefined) missing.push(name)
      else if (!seen.has(found.id)) {
        seen.add(found.id)
        models.push({ model: found, order })
      }
    }
    return { models, missing }
  })

/** Apply the hard requirements to the registry (or to `only`). */
export const filterModels = (deps: Deps, input: SelectionInput) =>
  Effect.gen(function*() {
    const { requirements, estimatedPromptTokens: prompt, maxOutputTokens: output } = input
    const needed = prompt + output
    const { models, missing } = yield* candidatesOf(deps.registry, input.only)
    const excluded: Array<Excluded> = missing.map((model) => ({ model, reason: "not in the registry", kind: "permanent" as const }))
    const eligible: Array<Candidate> = []
    for (const { model, order } of models) {
      const exclude = (reason: string, kind: Excluded["kind"] = "permanent", retryAfterMs?: number) =>
        excluded.push({ model: model.id, reason, kind, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) })
      if (!model.enabled) {
        exclude("disabled")
        continue
      }
      const lacking = requirements.capabilities.filter((c) => !model.capabilities.includes(c))
      if (lacking.length > 0) {
        exclude(`lacks required capabilities: ${lacking.join(", ")}`)
        continue
      }
      if (model.contextWindow < needed) {
        exclude(`context window ${model.contextWindow} < ${needed} tokens needed (prompt ${prompt} + output ${output})`)
        continue
      }
      if (requirements.minContextWindow !== undefined && model.contextWindow < requirements.minContextWindow) {
        exclude(`context window ${model.contextWindow} < required minimum ${requirements.minContextWindow}`)
        continue
      }
      const health = yield* deps.health.status(model.id)
      if (!(yield* deps.health.isAvailable(model.id))) {
        exclude(`unavailable: ${health.reason || health.status}`, health.blocked === true ? "permanent" : "unavailable")
        continue
      }
      const costPico = estimateCost(deps.costs, model, prompt, output)
      if (requirements.maxCostPerRequestUsd !== undefined && toUsd(costPico) > requirements.maxCostPerRequestUsd) {
        exclude(
          `estimated cost $${toUsd(costPico).toFixed(6)} exceeds maxCostPerRequestUsd $${requirements.maxCostPerRequestUsd}`
        )
        continue
      }
      if (Option.isSome(deps.costs)) {
        const budget = yield* Effect.either(deps.costs.value.checkBudget(model, requirements.agentType, costPico))
        if (budget._tag === "Left") {
          exclude(budget.left.message, "budget")
          continue
        }
      }
      const headroom = yield* deps.limiter.headroom(model, needed)
      if (!headroom.fits) {
        exclude(`rate limited: room for ${needed} tokens in ${Math.ceil(headroom.retryAfterMs)} ms`, "rate_limited", headroom.retryAfterMs)
        continue
      }
      eligible.push({ model, order, costPico, health, headroom })
    }
    return { eligible, excluded }
  })

const byRank = (a: ScoredModel & { c: Candidate }, b: ScoredModel & { c: Candidate }): number =>
  b.score - a.score ||
  a.c.order - b.c.order ||
  a.c.costPico - b.c.costPico ||
  b.model.qualityScore - a.model.qualityScore ||
  (a.model.id < b.model.id ? -1 : a.model.id > b.model.id ? 1 : 0)

/** Score the eligible models and sort them best first (deterministic ties). */
export const scoreCandidates = (
  deps: Deps,
  input: SelectionInput,
  candidates: ReadonlyArray<Candidate>,
  baseWeights: ScoreParts
) =>
  Effect.gen(function*() {
    const { priority, taskType, maxLatencyMs } = input.requirements
    const weights = priorityWeights(baseWeights, priority)
    const cheapest = Math.min(...candidates.map((c) => c.costPico))
    const dearest = Math.max(...candidates.map((c) => c.costPico))
    const scored: Array<ScoredModel & { c: Candidate }> = []
    for (const c of candidates) {
      const perf = Option.isSome(deps.monitor)
        ? Option.getOrUndefined(yield* deps.monitor.value.modelPerformance(c.model.id))
        : undefined
      const penalty = Option.isSome(deps.evaluator) ? yield* deps.evaluator.value.penalty(c.model.id, taskType) : 0
      const capability = capabilityPart(c.model, taskType)
      const cost = costPart(c.costPico, cheapest, dearest)
      const performance = performancePart(perf, maxLatencyMs, penalty)
      const availability = availabilityPart(c.health, c.headroom)
      const parts: ScoreParts = {
        capability: capability.value,
        cost: cost.value,
        performance: performance.value,
        availability: availability.value
      }
      const score = totalScore(parts, weights)
      scored.push({
        c,
        model: c.model,
        score,
        parts,
        weights,
        explanation: [
          `score ${score.toFixed(3)}`,
          capability.line,
          cost.line,
          performance.line,
          availability.line,
          weightsLine(weights, priority)
        ]
      })
    }
    return scored.sort(byRank).map(({ c: _c, ...s }): ScoredModel => s)
  })
