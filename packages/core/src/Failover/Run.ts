/**
 * The failover loop behind `Failover.run`.
 *
 * Untraced (`run`: `Effect.fnUntraced` or plain functions, no span or
 * stack capture per call): on the request path, see bench/README.md. The
 * gateway keeps one span per request.
 */
import { AllCandidatesFailed, type BudgetExceeded, type CandidateFailure } from "@modelgate/domain/Errors"
import { ExcessiveFailover, FailoverEvent } from "@modelgate/domain/Events"
import type { ModelMetadata } from "@modelgate/domain/Model"
import { countsAgainstHealth, endpointEvidence } from "@modelgate/domain/ProviderError"
import { FailoverRecord } from "@modelgate/domain/Records"
import { Clock, Duration, Effect, Either, Option, Schedule } from "effect"
import type { ApiKeys } from "../ApiKeys.js"
import { withKeyFingerprint } from "../ApiKeys/SharedId.js"
import type { Events } from "../Events.js"
import { dims } from "../CostTracker/Budgets.js"
import type { AttemptError, FailoverOptions, FailoverOutcome, PermanentError } from "../Failover.js"
import type { GatewayConfig } from "../GatewayConfig.js"
import type { FailoverConfig, GatewayConfigData } from "../GatewayConfigSchema.js"
import type { HealthChecker } from "../HealthChecker.js"
import type { ModelRegistry } from "../ModelRegistry.js"
import { type ModelOptimizer, notify } from "../ModelOptimizer.js"
import type { RecordSink } from "../RecordSink.js"
import { makeTracker } from "./Excessive.js"

/**
 * The reason a `Failover` event gives (on `/v1/events`, to the master key and
 * the request's own team): an agent type's budget is not named, nor its
 * spend; the record and a host's optimizer get the full reason.
 */
const shownReason = (e: AttemptError): string =>
  e._tag === "BudgetExceeded" && e.budget.startsWith(dims.agentType(""))
    ? `BudgetExceeded: the request's agent-type budget (${e.period}) has no room`
    : `${e._tag}: ${e.message}`

/** What the loop talks to. */
export interface RunDeps {
  readonly config: GatewayConfig["Type"]
  readonly events: Events["Type"]
  readonly sink: RecordSink["Type"]
  readonly health: HealthChecker["Type"]
  readonly apiKeys: Option.Option<ApiKeys["Type"]>
  readonly optimizer: Option.Option<ModelOptimizer["Type"]>
  /** The registry whose removals the excessive-failover counts follow, when there is one. */
  readonly registry: Option.Option<ModelRegistry["Type"]>
}

/** How many keys of one provider a single attempt may set aside before the candidate is skipped. */
const maxKeyRotations = 16

const retryAfterOf = (e: AttemptError): number | undefined =>
  "retryAfterMs" in e && typeof e.retryAfterMs === "number" ? e.retryAfterMs : undefined

/**
 * Whether a candidate refused the request itself, where another may take it:
 * a prompt over its context window, or what the request has that it cannot
 * take (`BadRequest.modelRefused`).
 */
const refusedRequest = (e: AttemptError): boolean =>
  e._tag === "ContextLengthExceeded" || (e._tag === "BadRequest" && e.modelRefused === true)

const failureOf = (model: string, e: AttemptError): CandidateFailure => {
  const retryAfterMs = retryAfterOf(e)
  return { model, tag: e._tag, message: e.message, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) }
}

/**
 * The wait before each move to the next candidate: exponential from
 * `backoffBaseMs` (x2 per failover in the run), jittered (x0.8..1.2), then
 * capped at `backoffCapMs`. Sleeps through `Clock`, so TestClock drives it.
 */
export const failoverBackoff = (config: Pick<FailoverConfig, "backoffBaseMs" | "backoffCapMs">) =>
  Schedule.exponential(Duration.millis(config.backoffBaseMs)).pipe(
    Schedule.jittered,
    Schedule.modifyDelay((delay) => Duration.min(delay, Duration.millis(config.backoffCapMs)))
  )

/** Build the generic `run` over the given services; its excessive-failover counts follow the registry in the current scope. */
export const makeRun = (deps: RunDeps) =>
  Effect.gen(function*() {
    const tracker = yield* makeTracker(deps.registry)
    const { config, events, sink, health, apiKeys, optimizer } = deps

    /** Feedback to the host's optimizer, when there is one (no step when there is none). */
    const feedback = (requestId: string | undefined, model: ModelMetadata, latencyMs: number, errorTag: string | undefined) =>
      notify(optimizer, (o) =>
        o.onFeedback({ requestId, model: model.id, success: errorTag === undefined, latencyMs, errorTag }))

    /**
     * One candidate: call it, rotating keys on Unauthorized; report health and
     * feedback (a success to health only unless `deferSuccess`: the caller
     * reports it). One match step around the call (no generator, no `either`).
     * The clock is read and the attempt made when called: call it from a
     * running step (a generator's body, a continuation), not ahead of time.
     */
    const tryCandidate = <A>(
      model: ModelMetadata,
      attemptNumber: number,
      attempt: (model: ModelMetadata, attemptNumber: number) => Effect.Effect<A, AttemptError>,
      requestId: string | undefined,
      clock: Clock.Clock,
      rotations: number,
      deferSuccess: boolean
    ): Effect.Effect<Either.Either<A, AttemptError>> => {
      const t0 = clock.unsafeCurrentTimeMillis()
      return Effect.matchEffect(attempt(model, attemptNumber), {
        onSuccess: (value) => {
          const now = clock.unsafeCurrentTimeMillis()
          const latencyMs = now - t0
          if (Option.isSome(optimizer)) {
            // The optimizer's feedback first, then the health report, as always.
            return Effect.zipRight(
              feedback(requestId, model, latencyMs, undefined),
              deferSuccess ? Effect.succeed(Either.right(value)) : Effect.as(health.reportSuccess(model.id, latencyMs, t0), Either.right(value))
            )
          }
          if (deferSuccess) return Effect.succeed(Either.right(value))
          // `reportSuccessAt` applies when called: on a healthy model it answers `Effect.void`, and the
          // result is returned at once (no Effect step for the report).
          const report = health.reportSuccessAt === undefined
            ? health.reportSuccess(model.id, latencyMs, t0)
            : health.reportSuccessAt(now, model.id, latencyMs, t0)
          return report === Effect.void ? Effect.succeed(Either.right(value)) : Effect.as(report, Either.right(value))
        },
        onFailure: (failure) => {
          // A refused key named by its fingerprint beside its position, wherever the refusal's text goes.
          const e = Option.isSome(apiKeys) ? withKeyFingerprint(failure, apiKeys.value.sharedIds) : failure
          const latencyMs = clock.unsafeCurrentTimeMillis() - t0
          return Effect.gen(function*() {
            yield* feedback(requestId, model, latencyMs, e._tag)
            if (countsAgainstHealth(e)) yield* health.reportFailure(model.id, e._tag, t0, endpointEvidence(e))
            if (
              e._tag === "Unauthorized" && e.keyId !== undefined && Option.isSome(apiKeys) && rotations < maxKeyRotations
            ) {
              yield* apiKeys.value.setAside(model.provider, e.keyId, e.message)
              const fingerprint = apiKeys.value.sharedIds?.get(e.keyId)
              yield* Effect.logWarning(
                `key ${e.keyId}${fingerprint === undefined ? "" : ` (${fingerprint})`} of ${model.provider} set aside after ${e._tag}; retrying ${model.id}`
              )
              return yield* tryCandidate(model, attemptNumber, attempt, requestId, clock, rotations + 1, deferSuccess)
            }
            return Either.left(e)
          })
        }
      })
    }

    const announce = (
      from: string,
      fromProvider: string,
      to: string | undefined,
      reason: string,
      attempt: number,
      start: number,
      requestId: string | undefined,
      agentType: string | undefined,
      shown: string = reason
    ) =>
      Effect.gen(function*() {
        const at = yield* Clock.currentTimeMillis
        const elapsedMs = Math.max(0, at - start)
        yield* sink.offer(new FailoverRecord({ at, requestId, from, provider: fromProvider, agentType, to, reason, attempt, elapsedMs }))
        if (to === undefined) return
        const event = new FailoverEvent({ at, requestId, agentType, from, to, reason, attempt, elapsedMs })
        yield* events.publish(shown === reason ? event : new FailoverEvent({ ...event, reason: shown }))
        yield* notify(optimizer, (o) => o.onFailover(event))
        const { excessiveThreshold, excessiveWindowMs } = (yield* config.get).failover
        const verdict = yield* tracker.record(from, at, excessiveThreshold, excessiveWindowMs)
        if (verdict.alert) {
          yield* events.publish(new ExcessiveFailover({ at, model: from, count: verdict.count, windowMs: excessiveWindowMs }))
          yield* Effect.logWarning(`excessive failover away from ${from}: ${verdict.count} within ${excessiveWindowMs} ms`)
        }
      })

    /**
     * The run. Its common case, the first candidate answering, is one config
     * read and the call (`run` below); the loop here takes over after the first
     * failure (`first`), with the first candidate's result.
     */
    const loop = Effect.fnUntraced(function*<A>(
      candidates: ReadonlyArray<ModelMetadata>,
      attempt: (model: ModelMetadata, attemptNumber: number) => Effect.Effect<A, AttemptError>,
      requestId: string | undefined,
      agentType: string | undefined,
      settings: FailoverConfig,
      clock: Clock.Clock,
      start: number,
      first: Either.Either<A, AttemptError> | undefined,
      deferSuccess: boolean
    ) {
      // Built at the first failover: most runs succeed on their first candidate.
      let backoff: Schedule.ScheduleDriver<Duration.Duration, unknown> | undefined
      const failures: Array<CandidateFailure> = []
      const attempted: Array<AttemptError> = []
      let previous: { readonly model: string; readonly provider: string; readonly reason: string; readonly shown: string } | undefined
      let contextFloor: number | undefined

      for (const model of candidates) {
        if (contextFloor !== undefined && model.contextWindow <= contextFloor) {
          failures.push({ model: model.id, tag: "Skipped", message: `context window ${model.contextWindow} is not larger than ${contextFloor}` })
          continue
        }
        if (attempted.length >= settings.maxAttempts) {
          failures.push({ model: model.id, tag: "NotTried", message: `failover.maxAttempts (${settings.maxAttempts}) reached` })
          continue
        }
        const attemptNumber = attempted.length + 1
        if (previous !== undefined) {
          backoff ??= yield* Schedule.driver(failoverBackoff(settings))
          yield* Effect.ignore(backoff.next(undefined))
          yield* announce(previous.model, previous.provider, model.id, previous.reason, attemptNumber, start, requestId, agentType, previous.shown)
        }
        const result = attemptNumber === 1 && first !== undefined
          ? first
          : yield* tryCandidate(model, attemptNumber, attempt, requestId, clock, 0, deferSuccess)
        if (result._tag === "Right") {
          const outcome: FailoverOutcome<A> = { value: result.right, model, failovers: attempted.length, failures }
          return outcome
        }
        const e = result.left
        attempted.push(e)
        failures.push(failureOf(model.id, e))
        if (e._tag === "ContentFiltered" || (e._tag === "BadRequest" && e.modelRefused !== true)) {
          return yield* Effect.fail<PermanentError>(e)
        }
        if (e._tag === "ContextLengthExceeded") {
          contextFloor = Math.max(contextFloor ?? 0, model.contextWindow)
        }
        previous = { model: model.id, provider: model.provider, reason: `${e._tag}: ${e.message}`, shown: shownReason(e) }
      }

      if (previous !== undefined) {
        yield* announce(previous.model, previous.provider, undefined, "all candidates failed", attempted.length, start, requestId, agentType)
      }
      // Every candidate tried refused the request itself (too long for it, or what it has is more than it
      // takes): the client's error (the last one's: a larger window's, as before), not an outage.
      if (attempted.length > 0 && attempted.every(refusedRequest)) {
        return yield* Effect.fail<PermanentError>(attempted[attempted.length - 1] as PermanentError)
      }
      const budgets = attempted.filter((e): e is BudgetExceeded => e._tag === "BudgetExceeded")
      if (budgets.length > 0 && budgets.length === attempted.length) return yield* Effect.fail(budgets[0]!)
      const waits = failures.flatMap((f) => (f.retryAfterMs !== undefined ? [f.retryAfterMs] : []))
      return yield* new AllCandidatesFailed({
        failures,
        ...(waits.length > 0 ? { retryAfterMs: Math.min(...waits) } : {})
      })
    })

    /**
     * The run on the request's config and clock, from the step that calls it:
     * the first candidate's attempt is made (and its start time read) when
     * called, with no Effect step of its own (`runAt`).
     */
    const runAt = <A>(
      conf: GatewayConfigData,
      clock: Clock.Clock,
      candidates: ReadonlyArray<ModelMetadata>,
      attempt: (model: ModelMetadata, attemptNumber: number) => Effect.Effect<A, AttemptError>,
      options?: FailoverOptions
    ): Effect.Effect<FailoverOutcome<A>, AllCandidatesFailed | PermanentError | BudgetExceeded> => {
      const requestId = options?.requestId
      const deferSuccess = options?.deferSuccessReport === true
      const settings = conf.failover
      const start = clock.unsafeCurrentTimeMillis()
      const model = candidates[0]
      if (model === undefined || settings.maxAttempts < 1) {
        return loop(candidates, attempt, requestId, options?.agentType, settings, clock, start, undefined, deferSuccess)
      }
      return Effect.flatMap(tryCandidate(model, 1, attempt, requestId, clock, 0, deferSuccess), (result) =>
        result._tag === "Right"
          ? Effect.succeed<FailoverOutcome<A>>({ value: result.right, model, failovers: 0, failures: [] })
          : loop(candidates, attempt, requestId, options?.agentType, settings, clock, start, result, deferSuccess))
    }

    const run = <A>(
      candidates: ReadonlyArray<ModelMetadata>,
      attempt: (model: ModelMetadata, attemptNumber: number) => Effect.Effect<A, AttemptError>,
      options?: FailoverOptions
    ): Effect.Effect<FailoverOutcome<A>, AllCandidatesFailed | PermanentError | BudgetExceeded> =>
      Effect.flatMap(config.get, (conf) => Effect.clockWith((clock) => runAt(conf, clock, candidates, attempt, options)))

    return { run, runAt }
  })
