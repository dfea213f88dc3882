/**
 * The selector's two steps: filter the registry by the hard requirements
 * (saying why each model was left out) and score what is left.
 */
import type { ModelMetadata } from "@modelgate/domain/Model"
import { type PicoUsd, toUsd } from "@modelgate/domain/Money"
import { allowsModel } from "@modelgate/domain/Requirements"
import { Clock, Effect, Option } from "effect"
import type { CostTracker } from "../CostTracker.js"
import { computeCost, holdUsage } from "../CostTracker/Price.js"
import type { Availability, HealthChecker, ModelHealth } from "../HealthChecker.js"
import type { ModelRegistry } from "../ModelRegistry.js"
import * as Reads from "./Reads.js"
import type { ScoredModel, ScoreParts, SelectionInput, TrialClaim } from "../ModelSelector.js"
import type { ModelPerformance, PerformanceMonitor } from "../PerformanceMonitor.js"
import { type TrialBook, trialCalls } from "../PerformanceMonitor/Trials.js"
import type { Headroom, KeysOf, RateLimiter } from "../RateLimiter.js"
import type { ResponseEvaluator } from "../ResponseEvaluator.js"
import {
  availabilityPart,
  availabilityValue,
  capabilityPart,
  capabilityValue,
  costPart,
  costValue,
  neutralPerformance,
  performancePart,
  performancePrior,
  performanceValue,
  priorityWeights,
  totalScore,
  weightsLine
} from "./Scoring.js"

/** The services the selector reads. */
export interface Deps {
  readonly registry: ModelRegistry["Type"]
  readonly health: HealthChecker["Type"]
  readonly limiter: RateLimiter["Type"]
  /** The usable key ids of a provider (`ApiKeys.usableIds`), when known: a model then needs a key with room. */
  readonly keysOf: KeysOf | undefined
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
  readonly kind: "request" | "permanent" | "unavailable" | "rate_limited" | "budget"
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
    onNone: () => computeCost(model.pricing, { promptTokens, completionTokens, cachedTokens: 0 })
  })

/** The models to consider: the registry, or the models `only` names (in its order), and the names not found. */
const candidatesOf = (
  registry: ModelRegistry["Type"],
  only: ReadonlyArray<string> | undefined
): Effect.Effect<{ readonly models: ReadonlyArray<{ model: ModelMetadata; order: number }>; readonly missing: Array<string> }> =>
  Effect.flatMap(registry.all, (all) => {
    if (only === undefined) return Effect.succeed({ models: all.map((model) => ({ model, order: 0 })), missing: [] as Array<string> })
    // `only` is short (a model and its fallbacks): a scan of the list per name, no index built per
    // request; `resolve` (an effect) only for a name that is not an id (e.g. `provider/model`).
    const byName = only.map((name) => all.find((m) => m.id === name))
    const pick = (found: ReadonlyArray<ModelMetadata | undefined>) => {
      const models: Array<{ model: ModelMetadata; order: number }> = []
      const missing: Array<string> = []
      const seen = new Set<string>()
      found.forEach((model, order) => {
        if (model === undefined) missing.push(only[order]!)
        else if (!seen.has(model.id)) {
          seen.add(model.id)
          models.push({ model, order })
        }
      })
      return { models, missing }
    }
    if (byName.every((m) => m !== undefined)) return Effect.succeed(pick(byName))
    return Effect.map(
      Effect.forEach(only, (name, i) =>
        byName[i] !== undefined ? Effect.succeed(byName[i]) : Effect.map(Effect.option(registry.resolve(name)), Option.getOrUndefined)),
      pick
    )
  })

/** Apply the hard requirements to the registry (or to `only`). */
export const filterModels = (deps: Deps, input: SelectionInput, at?: Reads.At) =>
  Effect.flatMap(candidatesOf(deps.registry, input.only), ({ missing, models }) => {
    const { requirements, estimatedPromptTokens: prompt, maxOutputTokens: output } = input
    const needed = prompt + output
    const allOutput = output * Math.max(1, input.choices ?? 1)
    // Each model's verdict, in model order; the checks that read another service run as one batch per
    // service over the models still in (health, then budgets, then rate limits), so a model is
    // asked about only if it passed the checks before, as one model at a time would be.
    const verdicts: Array<Excluded | Candidate | undefined> = models.map(() => undefined)
    const exclude = (i: number, reason: string, kind: Excluded["kind"] = "permanent", retryAfterMs?: number) => {
      verdicts[i] = { model: models[i]!.model.id, reason, kind, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) }
    }
    const statics: Array<number> = []
    const costsPico: Array<PicoUsd> = models.map(() => 0 as PicoUsd)
    const choices = Math.max(1, input.choices ?? 1)
    // The most the call can cost: all the output asked for (or the model's whole output limit when the
    // request names none), every prompt token written when it asks for cache writes. What the gateway
    // holds against budgets (`Accounting.hold`), and what `maxCostPerRequestUsd` caps.
    const mostOutput = (model: ModelMetadata): number =>
      (input.outputTokensAsked === undefined ? model.maxOutputTokens : Math.min(input.outputTokensAsked, model.maxOutputTokens)) * choices
    const worstOf = (model: ModelMetadata): PicoUsd => {
      const usage = holdUsage(prompt, mostOutput(model), input.cacheWrites, input.heldAudioTokens?.(model))
      return Option.isSome(deps.costs) ? deps.costs.value.cost(model, usage) : computeCost(model.pricing, usage)
    }
    // Read (and priced) only where a budget applies: the budget check reads `amount` of the models it limits.
    const holdOf = (model: ModelMetadata, known: PicoUsd | undefined) => {
      let amount = known
      return {
        model,
        get amount(): PicoUsd {
          return (amount ??= worstOf(model))
        }
      }
    }
    const worstPico: Array<PicoUsd | undefined> = models.map(() => undefined)
    models.forEach(({ model }, i) => {
      if (!model.enabled) return exclude(i, "disabled")
      if (!allowsModel(requirements, model.id)) return exclude(i, "not allowed for this key", "request")
      const unsupported = input.unsupported?.(model)
      if (unsupported !== undefined) return exclude(i, unsupported, "request")
      const lacking = requirements.capabilities.length === 0
        ? requirements.capabilities
        : requirements.capabilities.filter((c) => !model.capabilities.includes(c))
      if (lacking.length > 0) return exclude(i, `lacks required capabilities: ${lacking.join(", ")}`, "request")
      const needs = models[i]!.order > 0 ? input.fallbackCapabilities : undefined
      if (needs !== undefined && needs.length > 0) {
        const unmet = needs.filter((c) => !model.capabilities.includes(c))
        if (unmet.length > 0) return exclude(i, `fallback lacks what the request needs: ${unmet.join(", ")}`, "request")
      }
      if (input.outputTokensAsked !== undefined && input.outputTokensAsked > model.maxOutputTokens) {
        return exclude(i, `gives at most ${model.maxOutputTokens} output tokens (${input.outputTokensAsked} asked)`, "request")
      }
      if (model.contextWindow < needed) {
        return exclude(i, `context window ${model.contextWindow} < ${needed} tokens needed (prompt ${prompt} + output ${output})`, "request")
      }
      // More tokens than the model's whole window admits never fit it, however long the request waits.
      if (prompt + allOutput > model.rateLimits.tpm) {
        return exclude(i, `needs ${prompt + allOutput} tokens (prompt ${prompt} + output ${allOutput}), more than its whole rate limit (tpm ${model.rateLimits.tpm})`, "request")
      }
      if (requirements.minContextWindow !== undefined && model.contextWindow < requirements.minContextWindow) {
        return exclude(i, `context window ${model.contextWindow} < required minimum ${requirements.minContextWindow}`, "request")
      }
      // The request's own cost cap is one of its asks, like the checks above: applied before health,
      // so a model that is down and too dear reads as ruled out by the request (no degraded mode, no wait).
      if (requirements.maxCostPerRequestUsd !== undefined) {
        const worst = worstPico[i] = worstOf(model)
        if (toUsd(worst) > requirements.maxCostPerRequestUsd) {
          const tokens = `prompt ${prompt} + output ${mostOutput(model)} tokens${input.cacheWrites === undefined ? "" : ", the prompt written to the cache"}`
          return exclude(i, `worst-case cost $${toUsd(worst).toFixed(6)} (${tokens}) exceeds maxCostPerRequestUsd $${requirements.maxCostPerRequestUsd}`, "request")
        }
      }
      costsPico[i] = estimateCost(deps.costs, model, prompt, allOutput)
      statics.push(i)
    })
    // Plain flatMaps between the batches (no generator): a ranking is a handful of Effect ops.
    const healths: Array<ModelHealth | undefined> = models.map(() => undefined)
    // Budgets before health: a spent budget is the request's own limit (it does not pass by waiting),
    // so a model both down and over budget reads as over budget (no degraded mode, no wait, a 429).
    const afterStatics = () => {
      if (Option.isNone(deps.costs)) return checkHealth(statics)
      const costs = deps.costs.value
      return Reads.flatMapNow(
        Reads.budgetRefusals(costs, requirements.agentType, statics.map((i) => holdOf(models[i]!.model, worstPico[i])), at, input.dryRun),
        (refusals) =>
          checkHealth(statics.filter((i, k) => {
            const refused = refusals[k]
            if (refused !== undefined) exclude(i, refused.message, "budget")
            return refused === undefined
          }))
      )
    }
    const checkHealth = (affordable: ReadonlyArray<number>) =>
      Reads.flatMapNow(Reads.availability(deps.health, affordable.map((i) => models[i]!.model.id), at), (seen) => afterHealth(affordable, seen))
    const afterHealth = (affordable: ReadonlyArray<number>, seen: ReadonlyArray<Availability>) => {
      const healthy: Array<number> = []
      affordable.forEach((i, k) => {
        const { available, health, retryAfterMs, trial } = seen[k]!
        if (!available) {
          const probe = retryAfterMs === undefined
            ? ""
            : trial === true
            ? `; retry in ${Math.ceil(retryAfterMs / 1_000)} s`
            : retryAfterMs === 0
            ? "; being probed now"
            : `; next probe in ${Math.ceil(retryAfterMs / 1_000)} s`
          const reason = `unavailable: ${health.reason || health.status}${probe}`
          return exclude(i, reason, health.blocked === true ? "permanent" : "unavailable", retryAfterMs)
        }
        healths[i] = health
        healthy.push(i)
      })
      return afterBudgets(healthy)
    }
    const afterBudgets = (affordable: ReadonlyArray<number>) =>
      Reads.mapNow(Reads.headrooms(deps.limiter, affordable.map((i) => ({ model: models[i]!.model, estimatedTokens: prompt + allOutput })), at, deps.keysOf, input.dryRun), (rooms) => {
        affordable.forEach((i, k) => {
          const headroom = rooms[k]!
          if (!headroom.fits) {
            return exclude(i, `rate limited: room for ${needed} tokens in ${Math.ceil(headroom.retryAfterMs)} ms`, "rate_limited", headroom.retryAfterMs)
          }
          const { model, order } = models[i]!
          verdicts[i] = { model, order, costPico: costsPico[i]!, health: healths[i]!, headroom }
        })
        const excluded: Array<Excluded> = missing.map((model) => ({ model, reason: "not in the registry", kind: "permanent" as const }))
        const eligible: Array<Candidate> = []
        for (const verdict of verdicts) {
          if (verdict === undefined) continue
          if ("reason" in verdict) excluded.push(verdict)
          else eligible.push(verdict)
        }
        return { eligible, excluded }
      })
    return afterStatics()
  })

interface Scored {
  readonly c: Candidate
  readonly s: ScoredModel
}

const byRank = (x: Scored, y: Scored): number => {
  const a = x.c
  const b = y.c
  return y.s.score - x.s.score ||
    a.order - b.order ||
    a.costPico - b.costPico ||
    b.model.qualityScore - a.model.qualityScore ||
    (a.model.id < b.model.id ? -1 : a.model.id > b.model.id ? 1 : 0)
}

/**
 * A scored model whose explanation lines are written when first read (an
 * enumerable property, so JSON and spreads see it): the request path ranks on
 * the numbers alone, and formatting six lines per candidate per request was
 * a good part of the selector's time.
 */
const scoredModel = (model: ModelMetadata, score: number, parts: ScoreParts, weights: ScoreParts, explain: () => ReadonlyArray<string>): ScoredModel => {
  let lines: ReadonlyArray<string> | undefined
  return {
    model,
    score,
    parts,
    weights,
    get explanation() {
      return (lines ??= explain())
    }
  }
}

/** The models on trial in a ranking (fewer than `trialCalls` recent calls), and the book and time to claim one at. */
export interface OnTrial {
  readonly book: TrialBook
  readonly now: number
  readonly models: ReadonlyArray<string>
}

/** The eligible models scored, best first; `onTrial` when some of them are on trial (see `claimTrial`). */
export interface ScoredCandidates {
  readonly ranked: ReadonlyArray<ScoredModel>
  readonly onTrial: OnTrial | undefined
}

/**
 * Score the eligible models and sort them best first (deterministic ties).
 * Models with fewer than `trialCalls` recent calls get the best measured
 * candidate's performance as their prior, unless a trial of theirs is in
 * flight (`PerformanceMonitor/Trials.ts`); they are returned as `onTrial`,
 * for `claimTrial` once the ranking is final.
 */
export const scoreCandidates = (
  deps: Deps,
  input: SelectionInput,
  candidates: ReadonlyArray<Candidate>,
  baseWeights: ScoreParts,
  at?: Reads.At
): Effect.Effect<ScoredCandidates> =>
  Reads.flatMapNow(Reads.performances(deps.monitor, candidates.map((c) => c.model.id), at), (perfs) => {
    const trials = Option.isSome(deps.monitor) ? deps.monitor.value.trials : undefined
    if (trials === undefined || !perfs.some(onTrial)) return scoreWith(deps, input, candidates, baseWeights, perfs, undefined, 0, at)
    return at !== undefined
      ? scoreWith(deps, input, candidates, baseWeights, perfs, trials, at.now, at)
      : Effect.flatMap(Clock.currentTimeMillis, (now) => scoreWith(deps, input, candidates, baseWeights, perfs, trials, now, at))
  })

/** Whether a model with these recent calls is on trial (fewer than `trialCalls`). */
const onTrial = (perf: ModelPerformance | undefined): boolean => perf === undefined || perf.requests < trialCalls

const scoreWith = (
  deps: Deps,
  input: SelectionInput,
  candidates: ReadonlyArray<Candidate>,
  baseWeights: ScoreParts,
  perfs: ReadonlyArray<ModelPerformance | undefined>,
  trials: TrialBook | undefined,
  now: number,
  at: Reads.At | undefined
) =>
    Reads.mapNow(Reads.penalties(deps.evaluator, candidates.map((c) => c.model.id), input.requirements.taskType, at), (penalties) => {
      const { priority, taskType, maxLatencyMs } = input.requirements
      const best = performancePrior(perfs, maxLatencyMs, trialCalls)
      const weights = priorityWeights(baseWeights, priority)
      let cheapest = Number.POSITIVE_INFINITY
      let dearest = Number.NEGATIVE_INFINITY
      for (const c of candidates) {
        cheapest = Math.min(cheapest, c.costPico)
        dearest = Math.max(dearest, c.costPico)
      }
      const scored: Array<Scored> = []
      for (const [k, c] of candidates.entries()) {
        const perf = perfs[k]
        const penalty = penalties[k]!
        const trialInFlight = trials !== undefined && onTrial(perf) && trials.inFlight(c.model.id, now)
        const prior = trialInFlight ? neutralPerformance : best
        const parts: ScoreParts = {
          capability: capabilityValue(c.model, taskType),
          cost: costValue(c.costPico, cheapest, dearest),
          performance: performanceValue(perf, maxLatencyMs, penalty, prior),
          availability: availabilityValue(c.health, c.headroom)
        }
        const score = totalScore(parts, weights)
        scored.push({
          c,
          s: scoredModel(c.model, score, parts, weights, () => [
            `score ${score.toFixed(3)}`,
            capabilityPart(c.model, taskType).line,
            costPart(c.costPico, cheapest, dearest).line,
            performancePart(perf, maxLatencyMs, penalty, prior, trialInFlight).line,
            availabilityPart(c.health, c.headroom).line,
            weightsLine(weights, priority)
          ])
        })
      }
      scored.sort(byRank)
      const ranked = scored.map((x) => x.s)
      if (trials === undefined) return { ranked, onTrial: undefined }
      const models: Array<string> = []
      for (const [k, c] of candidates.entries()) if (onTrial(perfs[k])) models.push(c.model.id)
      return { ranked, onTrial: { book: trials, now, models } }
    })

/**
 * The model a request calls first: the first of `only` (a named model, then
 * its fallbacks, as `Failover.candidatesFor` orders them) that the ranking
 * kept, else the ranking's first.
 */
export const calledFirst = (input: SelectionInput, ranked: ReadonlyArray<ScoredModel>): string | undefined =>
  input.only === undefined
    ? ranked[0]?.model.id
    : input.only.find((id) => ranked.some((s) => s.model.id === id))

/**
 * Claim the trials of the model a request calls first (`calledFirst`): its
 * performance trial when it is on trial, its health trial when real calls
 * took it out (`HealthChecker.claimTrial`). Called on the final ranking
 * (after a host's review), never for a dry run: a model that the request
 * will not call keeps its trial for the next request that will. (A host's
 * review that does not answer at once lets other rankings run between this
 * one's scoring and its claim.) The answer, when anything was claimed,
 * releases both claims (`Ranking.trial`).
 */
export const claimTrial = (
  input: SelectionInput,
  ranked: ReadonlyArray<ScoredModel>,
  onTrial: OnTrial | undefined,
  claimHealthTrial: ((model: string) => (() => void) | undefined) | undefined
): TrialClaim | undefined => {
  const first = calledFirst(input, ranked)
  if (first === undefined) return undefined
  const performance = onTrial !== undefined && onTrial.models.includes(first) ? onTrial.book.claim(first, onTrial.now) : undefined
  const health = claimHealthTrial === undefined ? undefined : claimHealthTrial(first)
  if (performance === undefined) return health === undefined ? undefined : { model: first, release: health }
  if (health === undefined) return { model: first, release: performance }
  return {
    model: first,
    release: () => {
      performance()
      health()
    }
  }
}
