/**
 * Failover: run a request over ranked candidates with Schedule backoff between
 * them; excessive-failover alerts.
 *
 * Candidates: an `auto` request uses the selector's ranking; an explicit model
 * fails over only to its configured `fallbacks`. The Gateway builds both with
 * `candidatesFor(requested, ranking)` after
 * `ModelSelector.rank({ ..., only: requested === "auto" ? undefined : [model.id, ...model.fallbacks] })`,
 * so a model that is unavailable or rate limited right now is skipped before
 * a call is made, and a model that recovers is first again on the next request.
 */
import type { AllCandidatesFailed, BudgetExceeded, CandidateFailure, MissingApiKey, ModelUnavailable, RateLimitExceeded } from "@modelgate/domain/Errors"
import type { ModelMetadata } from "@modelgate/domain/Model"
import type { BadRequest, ContentFiltered, ContextLengthExceeded, ProviderError } from "@modelgate/domain/ProviderError"
import { type Clock, Context, Effect, Layer } from "effect"
import { ApiKeys } from "./ApiKeys.js"
import { Events } from "./Events.js"
import { makeRun } from "./Failover/Run.js"
import { GatewayConfig } from "./GatewayConfig.js"
import type { GatewayConfigData } from "./GatewayConfigSchema.js"
import { HealthChecker } from "./HealthChecker.js"
import { ModelOptimizer } from "./ModelOptimizer.js"
import { ModelRegistry } from "./ModelRegistry.js"
import type { Ranking } from "./ModelSelector.js"
import { RecordSink } from "./RecordSink.js"

/** What one attempt on one candidate may fail with. */
export type AttemptError = ProviderError | RateLimitExceeded | ModelUnavailable | MissingApiKey | BudgetExceeded

/** Errors that end a run at once: the request itself is at fault. */
export type PermanentError = BadRequest | ContentFiltered | ContextLengthExceeded

/** A successful run. */
export interface FailoverOutcome<A> {
  readonly value: A
  readonly model: ModelMetadata
  /** How many times the run moved to another candidate. */
  readonly failovers: number
  readonly failures: ReadonlyArray<CandidateFailure>
}

/** Options of one run. */
export interface FailoverOptions {
  readonly requestId?: string | undefined
  /** The request's agent type, carried into its `Failover` events. */
  readonly agentType?: string | undefined
  /**
   * The caller reports a successful attempt to health itself, once the call
   * is over (a stream: when it ends, so that one broken mid-way is a failure,
   * not a success then a failure). Failures are reported here as always.
   */
  readonly deferSuccessReport?: boolean | undefined
}

/** Failover over candidates. */
export class Failover extends Context.Tag("@modelgate/core/Failover")<
  Failover,
  {
    /**
     * Try `candidates` in order. Moves on after RateLimited, Overloaded, Timeout,
     * Transport, ServerError, MalformedResponse, StreamInterrupted, RateLimitExceeded,
     * ModelUnavailable, MissingApiKey, BudgetExceeded; on Unauthorized sets the key
     * aside and tries the same candidate with its next key; on ContextLengthExceeded
     * moves only to a candidate with a larger context window; on a BadRequest with
     * `modelRefused` (this model cannot take what the request has) moves on; other
     * permanent errors end the run. When every candidate tried refused the request
     * (those two), the run fails with the last refusal: the client's error.
     */
    readonly run: <A>(
      candidates: ReadonlyArray<ModelMetadata>,
      attempt: (model: ModelMetadata, attemptNumber: number) => Effect.Effect<A, AttemptError>,
      options?: FailoverOptions
    ) => Effect.Effect<FailoverOutcome<A>, AllCandidatesFailed | PermanentError | BudgetExceeded>
    /**
     * `run` on the request's config and clock (read once when it began)
     * instead of a read of each: called inside the step that runs it, it
     * makes the first attempt when called. Optional: doubles may offer only `run`.
     */
    readonly runAt?: <A>(
      config: GatewayConfigData,
      clock: Clock.Clock,
      candidates: ReadonlyArray<ModelMetadata>,
      attempt: (model: ModelMetadata, attemptNumber: number) => Effect.Effect<A, AttemptError>,
      options?: FailoverOptions
    ) => Effect.Effect<FailoverOutcome<A>, AllCandidatesFailed | PermanentError | BudgetExceeded>
  }
>() {}

/** The wait before each move to the next candidate (see `Failover/Run.ts`). */
export { failoverBackoff } from "./Failover/Run.js"

/**
 * The candidates of a request, in order: for `"auto"` the ranking as is; for
 * an explicit model, that model then its `fallbacks` in their configured order,
 * keeping only those the ranking found eligible (rank with
 * `only: [model.id, ...model.fallbacks]`).
 */
export const candidatesFor = (requested: ModelMetadata | "auto", ranking: Ranking): ReadonlyArray<ModelMetadata> => {
  if (requested === "auto") return ranking.ranked.map((s) => s.model)
  const eligible = new Map(ranking.ranked.map((s) => [s.model.id as string, s.model] as const))
  const out: Array<ModelMetadata> = []
  for (const id of [requested.id, ...requested.fallbacks]) {
    const model = eligible.get(id)
    if (model !== undefined && !out.includes(model)) out.push(model)
  }
  return out
}

/**
 * Build the failover runner. Needs GatewayConfig (the `failover` section, read
 * per run), Events, RecordSink and HealthChecker (passive health signals:
 * `reportFailure` for the `healthFailureTags` classes, `reportSuccess`
 * after a success, unless the run defers it: `FailoverOptions.deferSuccessReport`). Uses ApiKeys when present (without it an Unauthorized
 * candidate is skipped like an unavailable one) and a host's ModelOptimizer
 * when present (`onFeedback` per attempt, `onFailover` per move), and the
 * ModelRegistry when present: the excessive-failover counts of a model it
 * removes are dropped, in a fiber of the current scope.
 */
export const make = Effect.gen(function*() {
  const { run, runAt } = yield* makeRun({
    config: yield* GatewayConfig,
    events: yield* Events,
    sink: yield* RecordSink,
    health: yield* HealthChecker,
    apiKeys: yield* Effect.serviceOption(ApiKeys),
    optimizer: yield* Effect.serviceOption(ModelOptimizer),
    registry: yield* Effect.serviceOption(ModelRegistry)
  })
  return Failover.of({ run, runAt })
})

/** The live failover runner (with `ModelRegistry` in the context, it forgets the models the registry removes). */
export const layer: Layer.Layer<Failover, never, GatewayConfig | Events | RecordSink | HealthChecker> = Layer.scoped(
  Failover,
  make
)
