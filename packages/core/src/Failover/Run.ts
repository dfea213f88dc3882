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
import { type ContextLengthExceeded, healthFailureTags, type ProviderErrorTag } from "@modelgate/domain/ProviderError"
import { FailoverRecord } from "@modelgate/domain/Records"
import { Clock, Duration, Effect, type Either, Option, Schedule } from "effect"
import type { ApiKeys } from "../ApiKeys.js"
import type { Events } from "../Events.js"
import type { AttemptError, FailoverOptions, FailoverOutcome, PermanentError } from "../Failover.js"
import type { GatewayConfig } from "../GatewayConfig.js"
import type { FailoverConfig } from "../GatewayConfigSchema.js"
import type { HealthChecker } from "../HealthChecker.js"
import { type ModelOptimizer, notify } from "../ModelOptimizer.js"
import type { RecordSink } from "../RecordSink.js"
import { makeTracker } from "./Excessive.js"

/** What the loop talks to. */
export interface RunDeps {
  readonly config: GatewayConfig["Type"]
  readonly events: Events["Type"]
  readonly sink: RecordSink["Type"]
  readonly health: HealthChecker["Type"]
  readonly apiKeys: Option.Option<ApiKeys["Type"]>
  readonly optimizer: Option.Option<ModelOptimizer["Type"]>
}

/** How many keys of one provider a single attempt may set aside before the candidate is skipped. */
const maxKeyRotations = 16

const retryAfterOf = (e: AttemptError): number | undefined =>
  "retryAfterMs" in e && typeof e.retryAfterMs === "number" ? e.retryAfterMs : undefined

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

/** Build the generic `run` over the given services. */
export const makeRun = (deps: RunDeps) =>
  Effect.gen(function*() {
    const tracker = yield* makeTracker
    const { config, events, sink, health, apiKeys, optimizer } = deps

    /** One candidate: call it, rotating keys on Unauthorized; report health and feedback. */
    const tryCandidate = <A>(
      model: ModelMetadata,
      attemptNumber: number,
      attempt: (model: ModelMetadata, attemptNumber: number) => Effect.Effect<A, AttemptError>,
      requestId: string | undefined
    ): Effect.Effect<Either.Either<A, AttemptError>> =>
      Effect.gen(function*() {
        let rotations = 0
        while (true) {
          const t0 = yield* Clock.currentTimeMillis
          const result = yield* Effect.either(Effect.suspend(() => attempt(model, attemptNumber)))
          const latencyMs = (yield* Clock.currentTimeMillis) - t0
          const errorTag = result._tag === "Left" ? result.left._tag : undefined
          yield* notify(optimizer, (o) =>
            o.onFeedback({ requestId, model: model.id, success: result._tag === "Right", latencyMs, errorTag }))
          if (result._tag === "Right") {
            yield* health.reportSuccess(model.id, latencyMs)
            return result
          }
          const e = result.left
          if (healthFailureTags.has(e._tag as ProviderErrorTag)) yield* health.reportFailure(model.id, e._tag)
          if (
            e._tag === "Unauthorized" && e.keyId !== undefined && Option.isSome(apiKeys) && rotations < maxKeyRotations
          ) {
            rotations++
            yield* apiKeys.value.setAside(model.provider, e.keyId, e.message)
            yield* Effect.logWarning(`key ${e.keyId} of ${model.provider} set aside after ${e._tag}; retrying ${model.id}`)
            continue
          }
          return result
        }
      })

    const announce = (
      from: string,
      to: string | undefined,
      reason: string,
      attempt: number,
      start: number,
      requestId: string | undefined
    ) =>
      Effect.gen(function*() {
        const at = yield* Clock.currentTimeMillis
        const elapsedMs = Math.max(0, at - start)
        yield* sink.offer(new FailoverRecord({ at, requestId, from, to, reason, attempt, elapsedMs }))
        if (to === undefined) return
        const event = new FailoverEvent({ at, requestId, from, to, reason, attempt, elapsedMs })
        yield* events.publish(event)
        yield* notify(optimizer, (o) => o.onFailover(event))
        const { excessiveThreshold, excessiveWindowMs } = (yield* config.get).failover
        const verdict = yield* tracker.record(from, at, excessiveThreshold, excessiveWindowMs)
        if (verdict.alert) {
          yield* events.publish(new ExcessiveFailover({ at, model: from, count: verdict.count, windowMs: excessiveWindowMs }))
          yield* Effect.logWarning(`excessive failover away from ${from}: ${verdict.count} within ${excessiveWindowMs} ms`)
        }
      })

    return Effect.fnUntraced(function*<A>(
      candidates: ReadonlyArray<ModelMetadata>,
      attempt: (model: ModelMetadata, attemptNumber: number) => Effect.Effect<A, AttemptError>,
      options?: FailoverOptions
    ) {
      const requestId = options?.requestId
      const settings = (yield* config.get).failover
      const start = yield* Clock.currentTimeMillis
      // Built at the first failover: most runs succeed on their first candidate.
      let backoff: Schedule.ScheduleDriver<Duration.Duration, unknown> | undefined
      const failures: Array<CandidateFailure> = []
      const attempted: Array<AttemptError> = []
      let previous: { readonly model: string; readonly reason: string } | undefined
      let contextFloor: number | undefined
      let contextError: ContextLengthExceeded | undefined

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
          yield* announce(previous.model, model.id, previous.reason, attemptNumber, start, requestId)
        }
        const result = yield* tryCandidate(model, attemptNumber, attempt, requestId)
        if (result._tag === "Right") {
          const outcome: FailoverOutcome<A> = { value: result.right, model, failovers: attempted.length, failures }
          return outcome
        }
        const e = result.left
        attempted.push(e)
        failures.push(failureOf(model.id, e))
        if (e._tag === "BadRequest" || e._tag === "ContentFiltered") return yield* Effect.fail<PermanentError>(e)
        if (e._tag === "ContextLengthExceeded") {
          contextFloor = Math.max(contextFloor ?? 0, model.contextWindow)
          contextError = e
        }
        previous = { model: model.id, reason: `${e._tag}: ${e.message}` }
      }

      if (previous !== undefined) {
        yield* announce(previous.model, undefined, "all candidates failed", attempted.length, start, requestId)
      }
      if (contextError !== undefined && attempted.every((e) => e._tag === "ContextLengthExceeded")) {
        return yield* Effect.fail<PermanentError>(contextError)
      }
      const budgets = attempted.filter((e): e is BudgetExceeded => e._tag === "BudgetExceeded")
      if (budgets.length > 0 && budgets.length === attempted.length) return yield* Effect.fail(budgets[0]!)
      const waits = failures.flatMap((f) => (f.retryAfterMs !== undefined ? [f.retryAfterMs] : []))
      return yield* new AllCandidatesFailed({
        failures,
        ...(waits.length > 0 ? { retryAfterMs: Math.min(...waits) } : {})
      })
    })
  })
