/**
 * What the selector reads of the other services, one batch per service per
 * ranking: a service's batch member (`availability`, `checkBudgets`,
 * `headroomAll`, `modelPerformances`, `penalties`) when it has one, else one
 * call per model of its single-model method (test doubles, remote stores).
 * A batch costs a few Effect ops whatever the number of candidates; one call
 * per model costs a few per model (bench/README.md). With `at` (the caller's
 * config and time) the services' `…At` members are used when present: no
 * config or clock read in them.
 */
import type { BudgetExceeded } from "@modelgate/domain/Errors"
import type { ModelMetadata } from "@modelgate/domain/Model"
import type { PicoUsd } from "@modelgate/domain/Money"
import { Clock, Effect, Exit, Option } from "effect"
import type { CostTracker } from "../CostTracker.js"
import type { GatewayConfigData } from "../GatewayConfigSchema.js"
import type { Availability, HealthChecker } from "../HealthChecker.js"
import type { ModelPerformance, PerformanceMonitor } from "../PerformanceMonitor.js"
import type { Headroom, HeadroomRequest, KeysOf, RateLimiter } from "../RateLimiter.js"
import type { ResponseEvaluator } from "../ResponseEvaluator.js"

/**
 * `Effect.flatMap(effect, f)`, with `f` applied at once when `effect` is
 * already an `Exit` (an `Effect.succeed` / `Effect.fail` value, as the
 * services' `…At` members return what they computed when called): two Effect
 * ops fewer per read, the same order of calls. Use it only where `effect` is
 * run at once (inside the step that runs it, as every read of a ranking is),
 * so applying `f` now is applying it when the effect would have run.
 */
export const flatMapNow = <A, E, B, E2>(
  effect: Effect.Effect<A, E>,
  f: (a: A) => Effect.Effect<B, E2>
): Effect.Effect<B, E | E2> => {
  if (!Exit.isExit(effect)) return Effect.flatMap(effect, f)
  const exit = effect as Exit.Exit<A, E>
  return Exit.isSuccess(exit) ? f(exit.value) : Effect.failCause(exit.cause)
}

/** `Effect.map` as `flatMapNow` (`f` applied at once to an `Exit`'s value). */
export const mapNow = <A, E, B>(effect: Effect.Effect<A, E>, f: (a: A) => B): Effect.Effect<B, E> => {
  if (!Exit.isExit(effect)) return Effect.map(effect, f)
  const exit = effect as Exit.Exit<A, E>
  return Exit.isSuccess(exit) ? Effect.succeed(f(exit.value)) : Effect.failCause(exit.cause)
}

/** The caller's config and time, for the services' `…At` members. */
export interface At {
  readonly config: GatewayConfigData
  readonly now: number
}

/**
 * Health and availability of each model, in order (with when a probe may bring an unavailable one back, when
 * known: without the batch members, its `nextProbeAt` unless no probe can help).
 */
export const availability = (
  health: HealthChecker["Type"],
  models: ReadonlyArray<string>,
  at?: At
): Effect.Effect<ReadonlyArray<Availability>> =>
  at !== undefined && health.availabilityAt !== undefined
    ? health.availabilityAt(at.config, at.now, models)
    : health.availability !== undefined
    ? health.availability(models)
    : Effect.flatMap(at === undefined ? Clock.currentTimeMillis : Effect.succeed(at.now), (now) =>
      Effect.forEach(models, (model) =>
        Effect.flatMap(health.status(model), (h) =>
          Effect.map(health.isAvailable(model), (available): Availability =>
            available || h.blocked === true || h.nextProbeAt === undefined
              ? { health: h, available }
              : { health: h, available, retryAfterMs: Math.max(0, h.nextProbeAt - now) }))))

/** For each request, undefined when it fits every budget, else why not (`dryRun`: announcing nothing). */
export const budgetRefusals = (
  costs: CostTracker["Type"],
  agentType: string | undefined,
  requests: ReadonlyArray<{ readonly model: ModelMetadata; readonly amount: PicoUsd }>,
  at?: At,
  dryRun?: boolean
): Effect.Effect<ReadonlyArray<BudgetExceeded | undefined>> =>
  requests.length === 0
    ? Effect.succeed([])
    : at !== undefined && costs.checkBudgetsAt !== undefined
    ? costs.checkBudgetsAt(at.config, at.now, agentType, requests, dryRun)
    : costs.checkBudgets !== undefined
    ? costs.checkBudgets(agentType, requests, dryRun)
    : Effect.forEach(requests, ({ amount, model }) =>
      Effect.match(costs.checkBudget(model, agentType, amount, dryRun), { onFailure: (e) => e, onSuccess: () => undefined }))

/**
 * Rate-limit headroom of each request, in order; with `keysOf` (the usable key
 * ids of a provider), a model also needs a key of its provider with room
 * (`RateLimiter.headroomAll`). A limiter without the batch member answers for
 * the model windows alone. `dryRun`: the limiter only reads (no event, nothing marked).
 */
export const headrooms = (
  limiter: RateLimiter["Type"],
  requests: ReadonlyArray<HeadroomRequest>,
  at?: At,
  keysOf?: KeysOf,
  dryRun?: boolean
): Effect.Effect<ReadonlyArray<Headroom>> =>
  requests.length === 0
    ? Effect.succeed([])
    : at !== undefined && limiter.headroomAllAt !== undefined
    ? limiter.headroomAllAt(at.config, at.now, requests, keysOf, dryRun)
    : limiter.headroomAll !== undefined
    ? limiter.headroomAll(requests, keysOf, dryRun)
    : Effect.forEach(requests, ({ estimatedTokens, model }) => limiter.headroom(model, estimatedTokens, undefined, dryRun))

/** Recent performance of each model (undefined: no data or no monitor), in order. */
export const performances = (
  monitor: Option.Option<PerformanceMonitor["Type"]>,
  models: ReadonlyArray<string>,
  at?: At
): Effect.Effect<ReadonlyArray<ModelPerformance | undefined>> => {
  if (Option.isNone(monitor) || models.length === 0) return Effect.succeed(models.map(() => undefined))
  const m = monitor.value
  return mapNow(
    at !== undefined && m.modelPerformancesAt !== undefined
      ? m.modelPerformancesAt(at.config, at.now, models)
      : m.modelPerformances !== undefined
      ? m.modelPerformances(models)
      : Effect.forEach(models, (model) => m.modelPerformance(model)),
    (all) => all.map(Option.getOrUndefined)
  )
}

/** The evaluator's penalty of each model for `taskType` (0 without an evaluator), in order. */
export const penalties = (
  evaluator: Option.Option<ResponseEvaluator["Type"]>,
  models: ReadonlyArray<string>,
  taskType: string | undefined,
  at?: At
): Effect.Effect<ReadonlyArray<number>> => {
  if (Option.isNone(evaluator) || models.length === 0) return Effect.succeed(models.map(() => 0))
  const e = evaluator.value
  if (at !== undefined && e.penaltiesAt !== undefined) return e.penaltiesAt(at.config, at.now, models, taskType)
  return e.penalties !== undefined ? e.penalties(models, taskType) : Effect.forEach(models, (model) => e.penalty(model, taskType))
}
