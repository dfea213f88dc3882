/**
 * ModelSelector: filter, score (capability .30, cost .25, performance .25,
 * availability .20), rank, explain.
 *
 * Hard requirements (a model failing one is excluded, with the reason): in the
 * registry, enabled, every required capability, a context window holding the
 * estimated prompt plus the requested output and at least `minContextWindow`,
 * available (HealthChecker), within `maxCostPerRequestUsd` and every budget
 * (CostTracker, when present) at the most the call can cost, as the gateway
 * holds it (all the output asked for, or the model's whole output limit when
 * the request names none; the whole prompt at the cache-write price when it
 * asks for cache writes), room in the rate limiter for this request's size
 * on the model and, when ApiKeys is present, on at least one key of its
 * provider (a model whose provider refuses every key is rate limited).
 * The eligible models are scored (see `ModelSelector/Scoring.ts` for each part
 * and the priority weight shift) and sorted by score, then the order of `only`,
 * then estimated cost (cheaper first), quality score, id. A host's
 * `ModelOptimizer`, when present, reviews the ranking last (a dry run's too,
 * flagged `SelectionInput.dryRun`).
 *
 * Untraced (`rank` and `select`: `Effect.fnUntraced` or plain functions, no span or
 * stack capture per call): on the request path, see bench/README.md. The
 * gateway keeps one span per request.
 */
import type { Exclusion } from "@modelgate/domain/Errors"
import { NoEligibleModel } from "@modelgate/domain/Errors"
import { ModelSelected } from "@modelgate/domain/Events"
import type { Capability, ModelMetadata } from "@modelgate/domain/Model"
import type { TaskRequirements } from "@modelgate/domain/Requirements"
import { Clock, Context, Effect, Layer, Option } from "effect"
import { ApiKeys } from "./ApiKeys.js"
import { CostTracker } from "./CostTracker.js"
import { Events } from "./Events.js"
import { GatewayConfig } from "./GatewayConfig.js"
import type { GatewayConfigData } from "./GatewayConfigSchema.js"
import { HealthChecker } from "./HealthChecker.js"
import { ModelOptimizer, applyReview, notify } from "./ModelOptimizer.js"
import { ModelRegistry } from "./ModelRegistry.js"
import { PerformanceMonitor } from "./PerformanceMonitor.js"
import { RateLimiter } from "./RateLimiter.js"
import { ResponseEvaluator } from "./ResponseEvaluator.js"
import { claimTrial, filterModels, scoreCandidates } from "./ModelSelector/Rank.js"
import * as Reads from "./ModelSelector/Reads.js"
import { earliestKnownEnd } from "./ModelSelector/RetryAfter.js"

/** What the selector needs to know of a request. */
export interface SelectionInput {
  readonly requirements: TaskRequirements
  readonly estimatedPromptTokens: number
  /** The output tokens the request asks for (or a default), per choice. */
  readonly maxOutputTokens: number
  /**
   * The output tokens the request names (`max_completion_tokens` /
   * `max_tokens`), when it names them: a model that gives fewer is excluded
   * (its provider would answer a 400).
   */
  readonly outputTokensAsked?: number | undefined
  /**
   * The choices the request asks for (`n`; default 1): the output counts this
   * many times toward the estimated cost and the rate-limit room, once toward
   * the context window (each choice has its own).
   */
  readonly choices?: number | undefined
  /**
   * The prompt cache writes the request asks for (their longest lifetime):
   * with them, every prompt token counts as written in the budget check.
   */
  readonly cacheWrites?: "5m" | "1h" | undefined
  /**
   * The prompt tokens a hold on `model` prices as audio (`heldAudioTokens`):
   * the budget check prices them at the model's audio price.
   */
  readonly heldAudioTokens?: ((model: ModelMetadata) => number) | undefined
  /**
   * Restrict ranking to these model ids (e.g. an explicit model and its
   * fallbacks), which the request calls in this order: the first of them the
   * ranking keeps is the one whose trial it claims (`rank`).
   */
  readonly only?: ReadonlyArray<string> | undefined
  /**
   * Capabilities every model of `only` but its first must have: what the
   * request's content needs (`impliedCapabilities`). The model a request
   * names is not second-guessed; its fallbacks, the operator's choice, are.
   */
  readonly fallbackCapabilities?: ReadonlyArray<Capability> | undefined
  /** Carried into the `ModelSelected` event (with `requirements.agentType`). */
  readonly requestId?: string | undefined
  /**
   * A dry run (`POST /admin/select`): ranked as a request would be, without
   * side effects. The services are read only (no `RateLimited` or
   * `BudgetExceeded` announced, nothing marked that changes what a later
   * request announces), and `select` neither publishes its choice nor tells
   * the optimizer. A host's `ModelOptimizer` still reviews the ranking (so the
   * dry run shows its reordering and vetoes) and sees this flag, to leave a
   * dry run out of whatever it counts.
   */
  readonly dryRun?: boolean | undefined
  /**
   * Why the request itself cannot run on a model (its provider would drop a
   * field it asks for, see `Provider.cannotServe`), or undefined: such a
   * model is excluded for good.
   */
  readonly unsupported?: ((model: ModelMetadata) => string | undefined) | undefined
  /**
   * Told the trials `rank` claims (`Ranking.trial`) the moment it claims
   * them, before it answers: a caller whose fiber may be interrupted between
   * the ranking and taking `Ranking.trial` (a request whose client leaves)
   * keeps the claim from here and releases it however it ends (the gateway
   * does). Without it, a ranking lost to an interruption keeps its trials
   * until they lapse.
   */
  readonly onTrialClaimed?: ((trial: TrialClaim) => void) | undefined
}

/** Each part of a score, normalised to 0..1. */
export interface ScoreParts {
  readonly capability: number
  readonly cost: number
  readonly performance: number
  readonly availability: number
}

/** A model with its score, the parts, and a human explanation. */
export interface ScoredModel {
  readonly model: ModelMetadata
  readonly score: number
  readonly parts: ScoreParts
  readonly weights: ScoreParts
  readonly explanation: ReadonlyArray<string>
}

/** Eligible models best first, and why the others were left out. */
export interface Ranking {
  readonly ranked: ReadonlyArray<ScoredModel>
  readonly excluded: ReadonlyArray<Exclusion>
  /**
   * The earliest known end among the exclusions (a rate limit with room
   * again, an unavailable model's next probe, a recovering model's retry while
   * another request's trial call of it is in flight), in ms from now, whatever the
   * exclusions without one; undefined when none has one
   * (`ModelSelector/RetryAfter.ts`).
   */
  readonly retryAfterMs?: number | undefined
  /**
   * The trials this ranking claimed for the model the request calls first
   * (`rank`; never a dry run's), when it claimed any: release them once the
   * request is done with that model without a record or health outcome of
   * it (the gateway does). Unreleased, they lapse after `trialTimeoutMs`.
   * (`SelectionInput.onTrialClaimed` is told them first, as they are claimed.)
   */
  readonly trial?: TrialClaim | undefined
}

/**
 * The trials a request claimed for `model`, the model it calls first: its
 * performance trial (`PerformanceMonitor/Trials.ts`) and its health trial
 * (`HealthChecker/HalfOpen.ts`), whichever it claimed. `release` gives back
 * each that is still this request's (an outcome or record of the model ended
 * it already: nothing); synchronous, safe to call more than once.
 */
export interface TrialClaim {
  readonly model: string
  readonly release: () => void
}

/** Model selection. */
export class ModelSelector extends Context.Tag("@modelgate/core/ModelSelector")<
  ModelSelector,
  {
    /**
     * The eligible models for `input`, best first, and why the others were
     * left out. Unless it is a dry run, it claims the trial of the model the
     * request calls first when that model has few recent calls
     * (`PerformanceMonitor/Trials.ts`) or is recovering from failed real
     * calls (`HealthChecker/HalfOpen.ts`): rank for the request you send, and
     * release `Ranking.trial` once the request is done with that model
     * without calling it (else it lapses after 60 s), e.g.
     * `Effect.ensuring(send, Effect.sync(() => ranking.trial?.release()))`
     * (a recorded call ends the trial anyway). A caller that may be
     * interrupted between `rank` and that `ensuring` takes the claim through
     * `SelectionInput.onTrialClaimed` under a finalizer installed before it
     * ranks. `select` drops the claim: only a recorded call of its model (or
     * the 60 s) ends it.
     */
    readonly rank: (input: SelectionInput) => Effect.Effect<Ranking>
    /**
     * `rank` at `now` under `config`: the caller's own reads of the clock and
     * of `GatewayConfig` (once per request), passed to the services' `…At`
     * members (no config or clock read in them); services without those are
     * read as by `rank`. Optional: callers fall back to `rank`.
     */
    readonly rankAt?: (config: GatewayConfigData, now: number, input: SelectionInput) => Effect.Effect<Ranking>
    /** The best model of `rank`, or `NoEligibleModel` with the exclusions. */
    readonly select: (input: SelectionInput) => Effect.Effect<ScoredModel, NoEligibleModel>
  }
>() {}

/**
 * Build the selector. Needs ModelRegistry, HealthChecker, RateLimiter,
 * GatewayConfig and Events; uses CostTracker, PerformanceMonitor,
 * ResponseEvaluator, ModelOptimizer and ApiKeys when the context has them
 * (else: cost from the model's pricing and no budgets, neutral performance, no
 * penalty, no review, the rate limit of a model's own window only).
 */
export const make = Effect.gen(function*() {
  const registry = yield* ModelRegistry
  const health = yield* HealthChecker
  const limiter = yield* RateLimiter
  const config = yield* GatewayConfig
  const events = yield* Events
  const costs = yield* Effect.serviceOption(CostTracker)
  const monitor = yield* Effect.serviceOption(PerformanceMonitor)
  const evaluator = yield* Effect.serviceOption(ResponseEvaluator)
  const optimizer = yield* Effect.serviceOption(ModelOptimizer)
  const keysOf = Option.flatMapNullable(yield* Effect.serviceOption(ApiKeys), (keys) => keys.usableIds)
  const claimHealthTrial = health.claimTrial
  const deps = { registry, health, limiter, keysOf: Option.getOrUndefined(keysOf), costs, monitor, evaluator }

  /** Filter, score, review; `at` passes the caller's config and time to the services that take them. */
  const rankWith = (weights: ScoreParts, input: SelectionInput, at: Reads.At | undefined): Effect.Effect<Ranking> =>
    // `flatMapNow`: a read that is already an Exit (the `…At` members compute when called) is used at once.
    Reads.flatMapNow(filterModels(deps, input, at), (filtered) =>
      Reads.flatMapNow(scoreCandidates(deps, input, filtered.eligible, weights, at), ({ onTrial, ranked }) => {
        const ranking: Ranking = { ranked, excluded: filtered.excluded, retryAfterMs: earliestKnownEnd(filtered.excluded) }
        const reviewed = applyReview(optimizer, input, ranking)
        // The trials of the model the request calls first, on the final ranking (a dry run claims none).
        return (onTrial === undefined && claimHealthTrial === undefined) || input.dryRun === true ? reviewed : Reads.mapNow(reviewed, (r) => {
          const trial = claimTrial(input, r.ranked, onTrial, claimHealthTrial)
          if (trial === undefined) return r
          input.onTrialClaimed?.(trial)
          return { ...r, trial }
        })
      }))

  const rank = (input: SelectionInput): Effect.Effect<Ranking> =>
    Effect.flatMap(config.get, (c) => rankWith(c.selection.weights, input, undefined))

  const rankAt = (c: GatewayConfigData, now: number, input: SelectionInput): Effect.Effect<Ranking> =>
    rankWith(c.selection.weights, input, { config: c, now })

  const select = Effect.fnUntraced(function*(input: SelectionInput) {
    const ranking = yield* rank(input)
    const best = ranking.ranked[0]
    if (best === undefined) {
      return yield* new NoEligibleModel({
        exclusions: ranking.excluded,
        ...(ranking.retryAfterMs !== undefined && ranking.ranked.length === 0 ? { retryAfterMs: ranking.retryAfterMs } : {})
      })
    }
    // A dry run's choice is neither published nor told to the optimizer.
    if (input.dryRun === true) return best
    const at = yield* Clock.currentTimeMillis
    yield* events.publish(
      new ModelSelected({
        at,
        requestId: input.requestId,
        agentType: input.requirements.agentType,
        model: best.model.id,
        score: best.score,
        reason: `best of ${ranking.ranked.length} eligible (${ranking.excluded.length} excluded), priority ${input.requirements.priority}: ` +
          best.explanation.slice(0, 4).join("; ")
      })
    )
    yield* notify(optimizer, (o) => o.onSelected(input, best))
    return best
  })

  return ModelSelector.of({ rank, rankAt, select })
})

/** The live selector (its dependencies provided by the host; the optional ones used when present). */
export const layer: Layer.Layer<
  ModelSelector,
  never,
  ModelRegistry | HealthChecker | RateLimiter | GatewayConfig | Events
> = Layer.effect(ModelSelector, make)
