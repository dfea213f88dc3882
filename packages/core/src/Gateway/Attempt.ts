/**
 * One attempt of a request on one model (key, reservations, the provider call
 * and its accounting), and failover over the ranked candidates.
 */
import { cacheWritesAsked, type ChatRequest, type Usage } from "@modelgate/domain/Chat"
import { AllCandidatesFailed, ModelUnavailable, ShuttingDown } from "@modelgate/domain/Errors"
import { ModelSelected } from "@modelgate/domain/Events"
import type { ModelMetadata } from "@modelgate/domain/Model"
import { type PicoUsd, toUsd } from "@modelgate/domain/Money"
import { countsAgainstHealth, endpointEvidence, type ProviderError, type RateLimited } from "@modelgate/domain/ProviderError"
import type { TaskRequirements } from "@modelgate/domain/Requirements"
import { Cause, type Clock, Effect, Exit, Fiber, FiberRef, Option } from "effect"
import { heldAudioTokens } from "../CostTracker/Price.js"
import type { AttemptError, FailoverOutcome } from "../Failover.js"
import type { AnswerMeta } from "../Gateway.js"
import { notify } from "../ModelOptimizer.js"
import { withoutRefusedHints } from "../ModelRegistry/Refused.js"
import type { Provider, ProviderKey, RetryChoice } from "../Provider.js"
import { type EvaluationInput, notEvaluated } from "../ResponseEvaluator.js"
import { encodingFor, estimateOutputTokens, estimatePromptTokens, mostOutputTokens } from "../TokenEstimator.js"
import * as Accounting from "./Accounting.js"
import * as AttemptSpan from "./AttemptSpan.js"
import { answered, type Candidates, candidates } from "./Candidates.js"
import * as InFlight from "./InFlight.js"
import * as KeyRotation from "./KeyRotation.js"
import type { Begun } from "./RequestStart.js"
import type { Services } from "./Services.js"
import * as Trial from "./Trial.js"

/** Everything one attempt holds: the adapter, the key, the reservations. */
export interface Attempt {
  readonly model: ModelMetadata
  readonly provider: Provider
  readonly key: ProviderKey | undefined
  readonly held: Accounting.Held
  readonly promptTokens: number
  /**
   * What the request's earlier attempts were charged: answers their
   * provider gave whole, and bills, that could not be used, and streams it
   * billed that failed before they reached the client (`Accounting.failed`);
   * part of the request's cost.
   */
  readonly chargedBefore: PicoUsd
  /** The call's `CallContext.onRetry`: a failure the adapter waits out refuses the key meanwhile (`Accounting.refused`). */
  readonly onRetry: (error: ProviderError) => Effect.Effect<void>
  /**
   * The call's `CallContext.stillWanted`, asked after a wait for a permit:
   * false once its client left (`left`: the call, or its retry, is not
   * sent), else whether health still lets its model be tried.
   */
  readonly stillWanted: () => Effect.Effect<boolean>
  /** The call's `CallContext.abandoned`: its client left (`left`), so no further retry is sent. */
  readonly abandoned: () => boolean
  /**
   * The call's `CallContext.onNotSent`: it was interrupted while it waited
   * for its first permit (a stream's client left, the gateway shut down), so
   * it was never sent (`unsent`). A retry's wait is not: the call was sent.
   */
  readonly onNotSent: () => Effect.Effect<void>
  /** Set by `onNotSent`: the call was interrupted before it was sent (its reservations given back as `NotSent`). */
  unsent?: boolean
  /**
   * The call's `CallContext.closing` (`Begun.closing`): the server's
   * shutdown, which ends its wait for a permit, unsent (`Transport.closing`).
   */
  readonly closing: Effect.Effect<void> | undefined
  /**
   * Set when its client left while the call ran on its own (left behind): a
   * call still waiting for a permit then gives it back unsent (`stillWanted`
   * false), as a request that leaves before its call was sent sends
   * nothing, and a failure the adapter would retry ends the call
   * (`abandoned`): the provider would bill a retry nobody reads.
   */
  left?: boolean
  /** Set once the adapter retries the call (`onRetry`): it was sent. */
  retried?: boolean
  /**
   * Set by a stream's `use` once the provider opened the stream: the HTTP
   * requests of the call it answered (the opening 200 and the adapter's
   * retries before it). A stream that then breaks before its first content
   * is counted with all of them in the limiter (`Outcome.answered`).
   */
  opened?: number
  /**
   * Set by a stream's `use` once the provider opened the stream: what the
   * provider bills for it should it fail, or its client leave, before it
   * reached the client (during its peel: the request then fails over), or
   * undefined when nothing is billed (`StreamedAnswer.billedBeforeClient`).
   * Charged by the attempt's failure accounting (`Outcome.billed`), once.
   */
  billedSoFar?: (() => Usage | undefined) | undefined
}

/**
 * What a request's attempts did so far, read when it fails (`failedAfter`):
 * what its failed attempts were charged, and the models tried.
 */
interface Tally {
  /** What its failed attempts were charged so far, in picoUSD. */
  charged: number
  /** Models tried (attempts begun on them; a key rotation on the same model is one). */
  tried: number
  /** The last model tried. */
  last: ModelMetadata | undefined
  /**
   * Whether the last attempt's call was not sent because the server began to
   * shut down while it waited for a permit (`Transport.closing`): a request
   * whose attempts end so fails as one whose wait in the queue did (`runOver`).
   */
  closedOut: boolean
}

/** Prompt tokens of `request` per tokenizer, computed at most once per encoding. */
const promptEstimator = (request: ChatRequest) => {
  const memo = new Map<string, number>()
  return (model: ModelMetadata): number => {
    const encoding = encodingFor(model)
    const known = memo.get(encoding)
    if (known !== undefined) return known
    const tokens = estimatePromptTokens(request, model)
    memo.set(encoding, tokens)
    return tokens
  }
}

/** No key refused a call yet (shared: a call's list is only built once a key refused it). */
const noKeys: ReadonlyArray<string> = []

/** `stillWanted` of a call whose client left before it was sent. */
const notWanted = Effect.succeed(false)

/**
 * Whether the running fiber (called inside a step of it) was interrupted
 * while it could not be (its client left while the attempt took its
 * reservations): its call is then not made.
 */
const leftAlready = (): boolean => {
  const fiber = Fiber.getCurrentFiber()
  return Option.isSome(fiber) && !Cause.isEmpty(fiber.value.getFiberRef(FiberRef.interruptedCause))
}

/**
 * The end of `call`, as `Fiber.await` but cheaper (~6 steps fewer): an
 * observer added to it, no message to its fiber and no canceller. When the
 * waiter is interrupted first, the observer's later call finds the wait
 * over and does nothing.
 */
const ended = <A, E>(call: Fiber.RuntimeFiber<A, E>): Effect.Effect<Exit.Exit<A, E>> =>
  Effect.async((resume) => call.addObserver((exit) => resume(Effect.succeed(exit))))

/**
 * Health hears of a call that ran on after its client left, as failover
 * would have of an answered one: its success and latency, or its failure
 * (those health counts). One interrupted (the gateway shut down) says nothing of the model.
 */
const heard = <A>(s: Services, clock: Clock.Clock, model: ModelMetadata, held: Accounting.Held, exit: Exit.Exit<A, ProviderError>): Effect.Effect<void> => {
  const now = clock.unsafeCurrentTimeMillis()
  if (Exit.isSuccess(exit)) return s.reportSuccess(now, model.id, now - held.startedAt, held.startedAt)
  const failure = Cause.failureOption(exit.cause)
  // A call never sent (`Transport.notSent`) tells nothing of the model.
  return Option.isSome(failure) && countsAgainstHealth(failure.value)
    ? s.reportFailure(model.id, failure.value._tag, held.startedAt, endpointEvidence(failure.value))
    : Effect.void
}

/** Whether a call failed unsent because the server began to shut down while it waited for a permit (`Transport.closing`). */
const closedOut = (cause: Cause.Cause<ProviderError>): boolean => {
  const failure = Cause.failureOption(cause)
  return Option.isSome(failure) && failure.value._tag === "Transport" && failure.value.closing === true
}

/** An interrupted call that was never sent (`Attempt.unsent`): out of the rate limits and the model's figures. */
const interruptedUnsent = { _tag: Accounting.clientLeft, notSent: true } as const

/**
 * What a failed attempt is recorded as: its typed failure, or `Interrupted`
 * (its client left, or the gateway shut down), not sent when it was
 * interrupted while it waited for its permit (`unsent`).
 */
const failureOf = (cause: Cause.Cause<ProviderError>, unsent: boolean | undefined) =>
  Option.getOrElse(Cause.failureOption(cause), () => unsent === true ? interruptedUnsent : ({ _tag: Accounting.clientLeft }) as const)

/** The request as sent to the provider: the provider's own name of `model`, without the sampling hints it refuses. */
export const providerRequest = (request: ChatRequest, model: ModelMetadata): ChatRequest => ({
  ...withoutRefusedHints(request, model),
  model: model.providerModel
})

/** What an attempt does once it holds its reservations (see `attemptOn`). */
export interface AttemptSteps<A, B> {
  /** Whether the call streams (recorded with its accounting). */
  readonly streamed: boolean
  /** The provider call: interruptible, undone if it fails. */
  readonly use: (attempt: Attempt) => Effect.Effect<A, ProviderError>
  /** Its accounting and answer, with the call's result. */
  readonly after: (attempt: Attempt, value: A) => Effect.Effect<B>
  /**
   * Set for a call that, once handed to the provider, runs on to its end when
   * its client leaves (a complete call: the provider answers and bills it
   * whole): its accounting, with the call's result, once it ends (see
   * `attemptOn`). Unset, the call is interrupted with its client (a stream,
   * which accounts its client's leaving itself).
   */
  readonly leftBehind?: ((attempt: Attempt, value: A) => Effect.Effect<unknown>) | undefined
}

/**
 * One attempt on `model`: take a key, reserve budget and rate-limit capacity,
 * run `use` (interruptible), then `after` with its result. If `use` fails or
 * is interrupted the reservations are given back and a failed performance
 * record is written: nothing is left half-held. Everything but `use` runs
 * uninterruptibly, so the accounting of a finished call is never cut short.
 *
 * With `leftBehind`, `use` runs in a fiber of its own that the attempt joins
 * interruptibly: when the client leaves (the attempt is interrupted), the
 * attempt returns at once and the call runs on, adopted by the gateway's
 * scope (`LeftBehind.ts`), to be accounted when it ends: `leftBehind` with
 * its answer, or as a failed call (no failover: nobody waits). A client that
 * left before the call started (while the reservations were taken) sends
 * nothing; nor does one that left while the call waited for its concurrency
 * permit: the call gives the permit back unsent (`Attempt.left`) and is
 * accounted as not sent (`Transport.notSent`: no cost, out of health and
 * performance figures).
 *
 * The trials the request claimed for another model are given back when it
 * starts (the request is done with that model, `Trial.ts`); a call left
 * behind keeps its own model's until it ends.
 *
 * A failover (every attempt after the request's first) reads the config
 * again and holds under it (`Begun.config`).
 */
const attemptOn = <A, B>(
  s: Services,
  request: ChatRequest,
  requirements: TaskRequirements,
  begun: Begun,
  { after, leftBehind, streamed, use }: AttemptSteps<A, B>,
  tally: Tally
) => {
  const promptTokensOn = promptEstimator(request)
  const cacheWrites = cacheWritesAsked(request)
  const { clock, requestId } = begun
  const accounting = s.accounting
  /** Attempts begun so far (their spans' numbers, when traced). */
  let attempts = 0
  /** A model was tried already: the next one is a failover, held under the config in force then. */
  let failingOver = false
  return (model: ModelMetadata): Effect.Effect<B, AttemptError> => {
    // On to another model: the trial claimed for the one tried before is given back (`Trial.ts`).
    Trial.tryingNext(begun, model.id)
    tally.closedOut = false
    if (tally.last !== model) {
      tally.tried++
      tally.last = model
    }
    const provider = s.providers.get(model.provider)
    if (provider === undefined) {
      // Schema-class values in this file are built with validation off (`, true`): their fields are our own
      // typed data, already checked where they entered (test/HotPathSchemas.test.ts checks what is built).
      return Effect.fail(new ModelUnavailable({ model: model.id, reason: `no adapter for provider ${model.provider}` }, true))
    }
    const outputReservation = provider.outputReservation
    /** The keys the provider refused this call on (its 429s): not tried again for it (`KeyRotation.ts`). */
    let refusedKeys = noKeys
    const refusedOn = (keyId: string) => {
      if (!refusedKeys.includes(keyId)) refusedKeys = [...refusedKeys, keyId]
    }
    return Effect.uninterruptibleMask((restore) => {
      const holdOn = (key: ProviderKey | undefined) =>
        Accounting.hold(
          accounting,
          begun.config,
          model,
          key,
          promptTokensOn(model),
          estimateOutputTokens(request, model),
          requirements,
          clock.unsafeCurrentTimeMillis(),
          cacheWrites,
          mostOutputTokens(request, model),
          heldAudioTokens(request, model),
          outputReservation === undefined ? undefined : outputReservation(request, model, promptTokensOn(model))
        )
      /**
       * The call its key refused (its 429) runs on another key with room that has not refused it
       * (`refusedKeys`), or, should none admit it now, fails with its 429 (`cause`) as it would have,
       * recorded then (`notMoved`: the refused call's performance record, left out while it was to move).
       */
      const onAnotherKey = (cause: Cause.Cause<ProviderError>, notMoved: Effect.Effect<void>): Effect.Effect<B, AttemptError> =>
        Effect.flatMap(
          Effect.catchAll(
            Effect.flatMap(KeyRotation.keysInTurn(s.keys, model.provider), (keys): Effect.Effect<Accounting.Held, AttemptError> => {
              const others = keys.filter((k) => !refusedKeys.includes(k.id))
              return others.length === 0 ? Effect.failCause(cause) : KeyRotation.holdOnFirst(others, holdOn)
            }),
            () => Effect.zipRight(notMoved, Effect.failCause(cause))
          ),
          run
        )
      /**
       * The provider refused the call's key (a 429) with a retry hint the adapter would wait out: the
       * call fails at once (`"elsewhere"`) when another key has room, to run there (`onFailure`).
       */
      const elsewhereAfter = (key: ProviderKey | undefined, error: ProviderError) => {
        const ids = key === undefined || error._tag !== "RateLimited" ? undefined : s.keys.usableIds?.(model.provider)
        if (key === undefined || ids === undefined || ids.length < 2) return undefined
        refusedOn(key.id)
        const tokens = promptTokensOn(model) + estimateOutputTokens(request, model)
        return Effect.map(KeyRotation.roomElsewhere(accounting.limiter, model, tokens, ids, refusedKeys), (room): RetryChoice => room ? "elsewhere" : "wait")
      }
      /**
       * Whether a call that failed on `key` with `failure` moves to another key of its provider: a 429
       * (whatever its hint: each key limits on its own), while a usable key has not refused the call yet.
       */
      const movesOn = (key: ProviderKey | undefined, failure: Option.Option<ProviderError>): failure is Option.Some<RateLimited> => {
        if (key === undefined || Option.isNone(failure) || failure.value._tag !== "RateLimited") return false
        refusedOn(key.id)
        return KeyRotation.anotherKey(s.keys.usableIds?.(model.provider), refusedKeys)
      }
      const run = (held: Accounting.Held): Effect.Effect<B, AttemptError> => {
        const attempt: Attempt = {
          model,
          provider,
          key: held.key,
          held,
          promptTokens: promptTokensOn(model),
          chargedBefore: tally.charged as PicoUsd,
          onRetry: (error) => {
            attempt.retried = true
            const refused = Accounting.refused(accounting, held, error)
            const elsewhere = elsewhereAfter(held.key, error)
            return elsewhere === undefined ? refused : Effect.zipRight(refused, elsewhere)
          },
          stillWanted: () => attempt.left === true ? notWanted : s.isAvailable(model.id),
          abandoned: () => attempt.left === true,
          onNotSent: () =>
            Effect.sync(() => {
              if (attempt.retried !== true) attempt.unsent = true
            }),
          closing: begun.closing
        }
        const outcomeNow = (movedOn: boolean): Accounting.Outcome => ({
          requestId,
          requirements,
          now: clock.unsafeCurrentTimeMillis(),
          streamed,
          answered: attempt.opened,
          billed: attempt.billedSoFar?.(),
          movedOn
        })
        const failedWith = (cause: Cause.Cause<ProviderError>) =>
          Accounting.failed(accounting, held, failureOf(cause, attempt.unsent), outcomeNow(false))
        const onFailure = (cause: Cause.Cause<ProviderError>) => {
          // Its key's 429 while another key may take it: the call moves, its record written only if it stays.
          const failure = Cause.failureOption(cause)
          const moving = movesOn(held.key, failure) ? failure.value : undefined
          const outcome = outcomeNow(moving !== undefined)
          return Effect.flatMap(Accounting.failed(accounting, held, failureOf(cause, attempt.unsent), outcome), (cost) => {
            tally.charged += cost
            tally.closedOut = closedOut(cause)
            return moving === undefined
              ? Effect.failCause(cause)
              : onAnotherKey(cause, Effect.suspend(() => Accounting.failedRecord(accounting, held, moving, outcome)))
          })
        }
        const onSuccess = (value: A) => after(attempt, value)
        attempts++
        const called = begun.traced ? AttemptSpan.around(use(attempt), model, held.key?.id, attempts, s.keys.sharedIds) : use(attempt)
        // One match instead of `Effect.onExit` (~10 steps): this region is already uninterruptible.
        if (leftBehind === undefined || leftAlready()) return Effect.matchCauseEffect(restore(called), { onFailure, onSuccess })
        return Effect.flatMap(Effect.forkDaemon(restore(called)), (call) =>
          Effect.matchCauseEffect(restore(ended(call)), {
            onFailure: (left) => {
              // Nobody waits for it now: not sent if still queued for a permit (`stillWanted`), nor retried (`abandoned`).
              attempt.left = true
              // The call runs on: its trial (if this model's) is held until it ends, whatever health hears.
              const trial = Trial.handOff(begun, model.id)
              // The identical requests waiting for its answer wait on until it is accounted (and cached).
              const flight = InFlight.handOff(begun)
              return Effect.zipRight(
                s.leftBehind.adopt(call, (exit) =>
                  InFlight.landedAfter(
                    s.inFlight,
                    Trial.releasedAfter(
                      Effect.zipRight(
                        Exit.isSuccess(exit) ? leftBehind(attempt, exit.value) : failedWith(exit.cause),
                        heard(s, clock, model, held, exit)
                      ),
                      trial
                    ),
                    flight
                  )),
                Effect.failCause(left)
              )
            },
            onSuccess: (exit) => Exit.isSuccess(exit) ? onSuccess(exit.value) : onFailure(exit.cause)
          }))
      }
      const held = () =>
        provider.requiresKey
          ? Effect.flatMap(Effect.flatMap(KeyRotation.keysInTurn(s.keys, model.provider), (keys) => KeyRotation.holdOnFirst(keys, holdOn)), run)
          : Effect.flatMap(holdOn(undefined), run)
      if (!failingOver) {
        failingOver = true
        return held()
      }
      // A failover: held under the configuration in force now, so a reload since the request began
      // (a budget lowered or added) holds for it; the request goes on under it, as after a wait in the queue.
      return Effect.flatMap(s.config.get, (config) => {
        begun.config = config
        return held()
      })
    })
  }
}

/**
 * The error a request failed with after `tally`'s attempts, kept with what
 * they did (`Services.failures`, read by `Gateway.failureMeta`) when a model
 * was tried.
 */
const failedAfter = <E extends object>(s: Services, begun: Begun, tally: Tally, error: E): Effect.Effect<never, E> => {
  const last = tally.last
  if (last !== undefined) {
    s.failures.set(error, {
      requestId: begun.requestId,
      model: last.id,
      provider: last.provider,
      failovers: tally.tried - 1,
      costUsd: toUsd(tally.charged)
    })
  }
  return Effect.fail(error)
}

/**
 * Failover over the candidates; when all fail, the error also lists the models
 * that were not eligible and why (a missing key, a budget), so the client
 * learns what to fix, and is kept with what the attempts did (`failedAfter`).
 * When the last attempt was not sent because the server began to shut down
 * while it waited for a permit, the request fails as one the shutdown took
 * out of the queue (`ShuttingDown`: 503 `shutting_down`).
 */
const runOver = <A>(
  s: Services,
  ranked: Candidates,
  attempt: (model: ModelMetadata) => Effect.Effect<A, AttemptError>,
  begun: Begun,
  streamed: boolean,
  tally: Tally
) => {
  // A stream's success is reported to health when it ends (`StreamedAnswer.ts`), not at its first chunk.
  const options = streamed
    ? { requestId: begun.requestId, agentType: begun.agentType, deferSuccessReport: true }
    : { requestId: begun.requestId, agentType: begun.agentType }
  // `runAt` on the request's config and clock when the runner has it (no config or clock step per request).
  return (s.failover.runAt === undefined
    ? s.failover.run(ranked.models, attempt, options)
    : s.failover.runAt(begun.config, begun.clock, ranked.models, attempt, options)).pipe(
    Effect.catchAll((e) =>
      failedAfter(
        s,
        begun,
        tally,
        e._tag === "AllCandidatesFailed" && tally.closedOut
          ? new ShuttingDown({
            waitedMs: Math.max(0, begun.clock.unsafeCurrentTimeMillis() - begun.startedAt),
            reason: e.message
          }, true)
          : e._tag !== "AllCandidatesFailed" || ranked.excluded.length === 0
          ? e
          : new AllCandidatesFailed({
            failures: [...e.failures, ...ranked.excluded.map((x) => ({ model: x.model, tag: "NotEligible", message: x.reason }))],
            retryAfterMs: e.retryAfterMs
          }, true)
      )
    )
  )
}

/**
 * Publish that `model` answered the request (after `failovers` failovers),
 * and tell a host's optimizer (`onSelected`, its failure logged and ignored;
 * no step without one). Built by `uncheckedRecord` (as `new ModelSelected(props, true)` builds it,
 * without the constructor's copies and defaults scan: ~2.5 us a request);
 * test/AccountingRecords.test.ts holds it to the constructor.
 */
export const selected = (s: Services, begun: Begun, model: ModelMetadata, ranked: Candidates, failovers: number): Effect.Effect<void> => {
  const scored = ranked.ranking.ranked.find((r) => r.model.id === model.id)
  const event = Accounting.uncheckedRecord(ModelSelected, {
    at: begun.clock.unsafeCurrentTimeMillis(),
    requestId: begun.requestId,
    agentType: begun.agentType,
    model: model.id,
    score: scored?.score ?? 0,
    reason: failovers === 0 ? "top ranked candidate" : `after ${failovers} failover(s)`
  })
  // `publishNow` offers it at once (called inside the answer's step) and answers `Effect.void` when it fit.
  const published = s.events.publishNow === undefined ? s.events.publish(event) : s.events.publishNow(event)
  if (Option.isNone(s.optimizer) || scored === undefined) return published
  const told = notify(s.optimizer, (o) => o.onSelected(ranked.input, scored))
  return published === Effect.void ? told : Effect.zipRight(published, told)
}

/**
 * The evaluation of an answer under the request's config (`evaluateAt` when
 * the evaluator has it: no config read; `notEvaluated` itself when disabled).
 */
export const evaluation = (s: Services, begun: Begun, input: EvaluationInput) =>
  s.evaluator.evaluateAt === undefined ? s.evaluator.evaluate(input) : s.evaluator.evaluateAt(begun.config, input)

/**
 * After an answer: publish that it was selected, then evaluate it. Called
 * inside the answer's step: the event is published when called. Each part
 * that has nothing left to do (`Effect.void` / `notEvaluated`) is skipped,
 * so the common case (no subscriber backlog, evaluator off) adds no step.
 */
export const selectedThenEvaluated = (
  s: Services,
  begun: Begun,
  model: ModelMetadata,
  ranked: Candidates,
  failovers: number,
  input: EvaluationInput
): Effect.Effect<unknown> => {
  const published = selected(s, begun, model, ranked, failovers)
  if (published !== Effect.void) return Effect.zipRight(published, Effect.suspend(() => evaluation(s, begun, input)))
  const evaluated = evaluation(s, begun, input)
  return evaluated === notEvaluated ? Effect.void : evaluated
}

/**
 * The answer of a request the cache did not answer: its candidates, failover
 * over them (each attempt runs `steps`, see `attemptOn`), then `answer`
 * with the candidates and the winning outcome.
 */
export const answerOver = <A, B, C, E>(
  s: Services,
  request: ChatRequest,
  requirements: TaskRequirements,
  begun: Begun,
  steps: AttemptSteps<A, B>,
  answer: (ranked: Candidates, outcome: FailoverOutcome<B>) => Effect.Effect<C, E>
) => {
  const tally: Tally = { charged: 0, tried: 0, last: undefined, closedOut: false }
  const call = attemptOn(s, request, requirements, begun, steps, tally)
  // The trials its ranking claims, if any, are given back when the run ends, unless a call took them over:
  // held over from before the ranking, so that an interruption right after it (its client gone) gives them back too.
  return Trial.heldOver(
    begun,
    Effect.flatMap(candidates(s, request, requirements, begun), (ranked) =>
      Effect.flatMap(runOver(s, ranked, call, begun, steps.streamed, tally), (outcome) =>
        // Degraded mode is left once a provider answered (a step only while it was on).
        s.state.degraded ? Effect.flatMap(answered(s, outcome), (o) => answer(ranked, o)) : answer(ranked, outcome)))
  )
}

/** The metadata of an answer that `outcome` produced (not from the cache). */
export const answerMeta = (
  begun: Begun,
  outcome: FailoverOutcome<unknown>,
  costUsd: number | undefined
): AnswerMeta => ({
  requestId: begun.requestId,
  model: outcome.model.id,
  provider: outcome.model.provider,
  cacheHit: false,
  failovers: outcome.failovers,
  costUsd
})
