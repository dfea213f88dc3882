/**
 * Accounting around one provider call: limiter and budget reservations before
 * it; settle, cost, performance and health records after it. A failed call
 * leaves no half-written record: reservations are released and only a failed
 * performance record is written. Records are built with validation off
 * (`uncheckedRecord`, as `new X(props, true)` builds them): their values come
 * from this code, not from outside, and validating them cost ~10% of the
 * request path (bench/README.md).
 * The steps of the common path (`hold`, `succeeded`) are plain flatMap chains,
 * not generators: each generator costs an allocation and a few Effect steps.
 * They use the services' `…At` members where present, on the request's own
 * config and clock reads: those run their step when called, so every call
 * here is made inside the step that runs it (a function body or a flatMap
 * callback), once.
 */
import type { Usage } from "@modelgate/domain/Chat"
import type { ModelMetadata } from "@modelgate/domain/Model"
import type { PicoUsd } from "@modelgate/domain/Money"
import type { BudgetExceeded, RateLimitExceeded } from "@modelgate/domain/Errors"
import { RateLimitInfo } from "@modelgate/domain/RateLimitInfo"
import { CostRecord, PerformanceRecord } from "@modelgate/domain/Records"
import type { TaskRequirements } from "@modelgate/domain/Requirements"
import { Effect, Exit } from "effect"
import { flatMapNow, mapNow } from "../ModelSelector/Reads.js"
import type { CostTracker, BudgetReservation } from "../CostTracker.js"
import { holdUsage, tokenUsageOf } from "../CostTracker/Price.js"
import type { GatewayConfigData } from "../GatewayConfigSchema.js"
import type { PerformanceMonitor } from "../PerformanceMonitor.js"
import type { ProviderKey } from "../Provider.js"
import type { KeysOf, RateLimiter, Reservation } from "../RateLimiter.js"

/** Services the accounting needs, resolved once in `Gateway.make`. */
export interface AccountingServices {
  readonly limiter: RateLimiter["Type"]
  readonly costs: CostTracker["Type"]
  readonly performance: PerformanceMonitor["Type"]
  /** The usable key ids of a provider (`ApiKeys.usableIds`), read only when the provider refuses a key. */
  readonly keysOf?: KeysOf | undefined
  /**
   * Each key id to its id among instances (`ApiKeys.sharedIds`: the same key
   * has the same one on every instance, whatever its position): what a cost
   * record names its key by. Without it, the key's position id (`openai#1`).
   */
  readonly sharedKeyIds?: ReadonlyMap<string, string> | undefined
}

/** What was held for one call. */
export interface Held {
  /** The request's config, read once when it began; its accounting runs on it. */
  readonly config: GatewayConfigData
  /** The model as ranked: the call is held, priced and recorded at its price, whatever a reload changes meanwhile. */
  readonly model: ModelMetadata
  readonly key: ProviderKey | undefined
  readonly limit: Reservation
  readonly budget: BudgetReservation
  readonly startedAt: number
}

/**
 * A record instance exactly as `new Class(props, true)` (validation off) makes
 * it: the class's prototype, the props as own fields in their order, then
 * `_tag`. Even with validation off a Schema class's constructor copies the
 * props twice and scans the class's fields for defaults (~1.5 us a record in
 * a CPU profile: the costliest step of a request's accounting). For record
 * and event classes given every field (their defaults, beyond `_tag`, are
 * for callers that leave a field out: the request's records and its
 * ModelSelected event); test/AccountingRecords.test.ts holds it to the
 * constructor (equal, same keys in the same order, same prototype).
 */
export const uncheckedRecord = <A extends { readonly _tag: string }>(
  Class: { readonly prototype: A; readonly _tag: A["_tag"] },
  props: Omit<A, "_tag">
): A => {
  const record: A = Object.create(Class.prototype)
  Object.assign(record, props)
  ;(record as { _tag: string })._tag = Class._tag
  return record
}

/**
 * Tokens of a usage object, in the record's terms: the prompt and completion,
 * and their breakdown (cache reads and writes among the prompt, reasoning
 * among the completion; 0 when the provider gave none).
 */
export const usageTokens = (usage: Usage) => ({
  promptTokens: usage.prompt_tokens,
  completionTokens: usage.completion_tokens,
  cachedTokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
  cacheWriteTokens: usage.prompt_tokens_details?.cache_creation_tokens ?? 0,
  reasoningTokens: usage.completion_tokens_details?.reasoning_tokens ?? 0
})

/**
 * The tokens of `usage` that count toward `model`'s `tpm`: all of them, less
 * the prompt-cache reads when its `rateLimits.cacheReadsCount` is false.
 */
const limitedTokens = (model: ModelMetadata, usage: Usage): number =>
  model.rateLimits.cacheReadsCount === false
    ? Math.max(0, usage.total_tokens - (usage.prompt_tokens_details?.cached_tokens ?? 0))
    : usage.total_tokens

// The `…At` member when the service has it, else the plain method (test doubles, remote stores).
const reserveBudget = (s: AccountingServices, c: GatewayConfigData, now: number, model: ModelMetadata, agentType: string | undefined, amount: PicoUsd) =>
  s.costs.reserveAt === undefined ? s.costs.reserve(model, agentType, amount) : s.costs.reserveAt(c, now, model, agentType, amount)
const reserveLimit = (
  s: AccountingServices,
  c: GatewayConfigData,
  now: number,
  model: ModelMetadata,
  tokens: number,
  keyId: string | undefined,
  output: number | undefined
) => s.limiter.reserveAt === undefined ? s.limiter.reserve(model, tokens, keyId, output) : s.limiter.reserveAt(c, now, model, tokens, keyId, output)
const settleLimit = (
  s: AccountingServices,
  c: GatewayConfigData,
  now: number,
  limit: Reservation,
  tokens: number,
  retried: number | undefined,
  output: number | undefined
) => s.limiter.settleAt === undefined ? s.limiter.settle(limit, tokens, retried, output) : s.limiter.settleAt(c, now, limit, tokens, retried, output)
const releaseLimit = (s: AccountingServices, c: GatewayConfigData, now: number, limit: Reservation) =>
  s.limiter.releaseAt === undefined ? s.limiter.release(limit) : s.limiter.releaseAt(c, now, limit)
const commitCost = (s: AccountingServices, c: GatewayConfigData, now: number, budget: BudgetReservation, record: CostRecord) =>
  s.costs.commitAt === undefined ? s.costs.commit(budget, record) : s.costs.commitAt(c, now, budget, record)
const recordPerformance = (s: AccountingServices, c: GatewayConfigData, now: number, record: PerformanceRecord) =>
  s.performance.recordAt === undefined ? s.performance.record(record) : s.performance.recordAt(c, now, record)

/**
 * Reserve budget then rate-limit capacity for a call; on a rate-limit failure
 * the budget is given back. The budget reserved is the most the call can
 * cost: every prompt token written to the prompt cache when the request asks
 * for cache writes (`cacheWrites`, their longest lifetime), which costs more
 * than fresh input, and all the output the provider may produce
 * (`maxOutputTokens`: without a `max_tokens` the provider answers up to the
 * model's output limit, not the estimator's default), with its audio input
 * (`audioTokens`) at the model's audio price where that is dearer than text
 * (`heldAudioTokens`). `outputReservation` is what the provider takes from
 * its output limit when the call starts (`Provider.outputReservation`), held
 * against that limit by the limiter.
 */
export const hold = (
  s: AccountingServices,
  config: GatewayConfigData,
  model: ModelMetadata,
  key: ProviderKey | undefined,
  promptTokens: number,
  outputTokens: number,
  requirements: TaskRequirements,
  startedAt: number,
  cacheWrites?: "5m" | "1h" | undefined,
  maxOutputTokens: number = outputTokens,
  audioTokens = 0,
  outputReservation?: number
): Effect.Effect<Held, BudgetExceeded | RateLimitExceeded> => {
  const estimate: PicoUsd = s.costs.cost(model, holdUsage(promptTokens, Math.max(outputTokens, maxOutputTokens), cacheWrites, audioTokens))
  // `flatMapNow`: the `…At` members' answers are Exits, used at once (no Effect step per reservation).
  return flatMapNow(reserveBudget(s, config, startedAt, model, requirements.agentType, estimate), (budget) => {
    const limit = reserveLimit(s, config, startedAt, model, promptTokens + outputTokens, key?.id, outputReservation)
    return Exit.isExit(limit) && Exit.isSuccess(limit)
      ? Effect.succeed<Held>({ config, model, key, limit: limit.value as Reservation, budget, startedAt })
      : Effect.matchEffect(limit, {
        onFailure: (e) => Effect.zipRight(s.costs.release(budget), Effect.fail(e)),
        onSuccess: (limit) => Effect.succeed<Held>({ config, model, key, limit, budget, startedAt })
      })
  })
}

/** Context of a finished call, for its records. */
export interface Outcome {
  readonly requestId: string
  readonly requirements: TaskRequirements
  readonly now: number
  readonly timeToFirstTokenMs?: number | undefined
  readonly streamed: boolean
  /**
   * The client left before the answer's end (a stream it stopped reading, a
   * complete call it left while the provider worked on it, which ran on):
   * `succeeded` settles and charges it as usual, and records its performance
   * as `Interrupted`, the client's doing (`PerformanceMonitor/Counted.ts`).
   */
  readonly clientLeft?: boolean | undefined
  /**
   * How many earlier HTTP requests of the call (the adapter's retries) the
   * provider answered (`ChatResult.retried`): counted in the limiter's
   * requests with the call's own.
   */
  readonly retried?: number | undefined
  /**
   * How many HTTP requests of a failed call the provider answered, when the
   * caller knows better than the error: a stream the provider opened (a 200,
   * after `retried` answered retries) that broke before its first content
   * (`failed` counts them all in the limiter's requests).
   */
  readonly answered?: number | undefined
  /**
   * What the provider bills for a failed call whose error carries no usage:
   * a stream that failed, or whose client left, before it reached the client
   * (`Attempt.billedSoFar`). `failed` settles and charges it as it does an
   * error's `usage`.
   */
  readonly billed?: Usage | undefined
  /**
   * The call moves to another key of its provider (its key refused it, a
   * 429, `KeyRotation.ts`): `failed` settles and releases it
   * but writes no performance record, as for a refusal the adapter waits out
   * on the key; the model's figures get the call on the other key.
   * `failedRecord` writes it should no key take the call after all.
   */
  readonly movedOn?: boolean | undefined
}

/** The performance record of one call (or cache hit) of `model`. */
const performanceRecord = (
  model: ModelMetadata,
  startedAt: number,
  outcome: Outcome,
  result: { readonly success: boolean; readonly outputTokens: number; readonly cacheHit: boolean; readonly errorClass?: string | undefined }
) =>
  uncheckedRecord(PerformanceRecord, {
    at: outcome.now,
    requestId: outcome.requestId,
    model: model.id,
    provider: model.provider,
    latencyMs: outcome.now - startedAt,
    timeToFirstTokenMs: outcome.timeToFirstTokenMs,
    streamed: outcome.streamed,
    agentType: outcome.requirements.agentType,
    ...result
  })

/** What `usage` on the held model costs (cache writes at their price), and its cost record. */
const charge = (s: AccountingServices, held: Held, usage: Usage, outcome: Outcome): { readonly cost: PicoUsd; readonly record: CostRecord } => {
  const tokens = tokenUsageOf(usage)
  const cost = s.costs.cost(held.model, tokens)
  const record = uncheckedRecord(CostRecord, {
    at: outcome.now,
    requestId: outcome.requestId,
    model: held.model.id,
    provider: held.model.provider,
    apiKeyId: held.key === undefined ? undefined : s.sharedKeyIds?.get(held.key.id) ?? held.key.id,
    agentType: outcome.requirements.agentType,
    taskType: outcome.requirements.taskType,
    ...usageTokens(usage),
    costPicoUsd: cost,
    cacheHit: false
  })
  return { cost, record }
}

/**
 * The error class of a call its client left (a stream left or never read, a
 * complete call that ran on after its client left), or that was interrupted
 * (its client left before it started, the gateway shut down while it ran).
 */
export const clientLeft = "Interrupted"

/**
 * The error class a call is recorded with when its adapter did not send it
 * (`Transport.notSent`: its model was taken out, or its client left, while
 * it waited for a concurrency permit; or it was interrupted during that
 * wait, `CallContext.onNotSent`): the model is not to blame.
 */
export const notSent = "NotSent"

/**
 * Whether a call that failed without an answer most likely reached the
 * provider, which then counts it in its limits: its client left it (an
 * interruption, unless it was known not sent: `notSent`), it timed out, or
 * its connection failed other than by finding nothing listening. Counted
 * when unsure: a limit must hold.
 */
const mayHaveBeenSent = (error: { readonly _tag: string; readonly unreachable?: boolean | undefined; readonly notSent?: boolean | undefined }) =>
  error.notSent !== true &&
  (error._tag === clientLeft || error._tag === "Timeout" || (error._tag === "Transport" && error.unreachable !== true))

/** The call succeeded (or its client left it, see `Outcome.clientLeft`): settle the limiter, commit the cost, record performance. Returns the cost. */
export const succeeded = (
  s: AccountingServices,
  held: Held,
  usage: Usage,
  rateLimit: RateLimitInfo | undefined,
  outcome: Outcome
): Effect.Effect<PicoUsd> => {
  const { cost, record } = charge(s, held, usage, outcome)
  const { config, limit } = held
  const written = usage.completion_tokens
  const settled = rateLimit === undefined
    ? settleLimit(s, config, outcome.now, limit, limitedTokens(held.model, usage), outcome.retried, written)
    : flatMapNow(settleLimit(s, config, outcome.now, limit, limitedTokens(held.model, usage), outcome.retried, written), () => learn(s, held, rateLimit))
  // Each service call is made when its step runs (flatMap thunks, or at once after an Exit: `flatMapNow`),
  // in the order of the generator it replaced.
  return flatMapNow(settled, () =>
    flatMapNow(commitCost(s, config, outcome.now, held.budget, record), () =>
      mapNow(
        recordPerformance(
          s,
          config,
          outcome.now,
          performanceRecord(
            held.model,
            held.startedAt,
            outcome,
            outcome.clientLeft === true
              ? { success: false, errorClass: clientLeft, outputTokens: usage.completion_tokens, cacheHit: false }
              : { success: true, outputTokens: usage.completion_tokens, cacheHit: false }
          )
        ),
        () => cost
      )))
}

/**
 * Learn from an answer's rate-limit headers (`RateLimiter.observe`, on the
 * call's key): a stream's when it opens, a complete answer's in `succeeded`.
 * The headers are the call's own answer: the provider counted the call, so
 * its reservation (still open for a stream) is not taken off them again.
 */
export const learn = (s: AccountingServices, held: Held, rateLimit: RateLimitInfo): Effect.Effect<void> =>
  s.limiter.observe(held.model, rateLimit, held.key?.id, s.keysOf, held.limit)

/**
 * What a failed HTTP request of the call tells of the provider's limits: its
 * rate-limit headers (`remaining: 0` blocks the key, or a keyless model,
 * until their reset), and a 429's retry hint (`retry-after`, Gemini's
 * RetryInfo) with no such header: the provider still refuses the key until
 * then. Used when the call failed (`failed`), and by the adapter for each
 * failure it is about to wait out and retry (`CallContext.onRetry`), so no
 * other request is sent on the key meanwhile. Nothing to do (no step) for
 * any other failure.
 */
export const refused = (
  s: AccountingServices,
  held: Held,
  error: { readonly _tag: string; readonly rateLimit?: RateLimitInfo | undefined; readonly retryAfterMs?: number | undefined }
): Effect.Effect<void> => {
  const { key, model } = held
  const observed = error.rateLimit === undefined ? Effect.void : s.limiter.observe(model, error.rateLimit, key?.id, s.keysOf)
  if (error._tag !== "RateLimited" || typeof error.retryAfterMs !== "number" || error.retryAfterMs <= 0) return observed
  const hinted = s.limiter.observe(model, new RateLimitInfo({ remainingRequests: 0, resetRequestsMs: error.retryAfterMs }, true), key?.id, s.keysOf)
  return observed === Effect.void ? hinted : Effect.zipRight(observed, hinted)
}

/**
 * The call failed. A failure with an HTTP status was counted by the provider:
 * the request stays in the limiter with no tokens; one without an answer that
 * was most likely sent (its client left, a timeout, a connection lost: see
 * `mayHaveBeenSent`) stays with its estimated tokens; one that never reached
 * the provider (nothing listening) is released. The budget is released: nothing was spent, unless the
 * provider answered whole and billed an answer that could not be used (the
 * error carries its `usage`), or billed a stream that failed before it
 * reached its client (`Outcome.billed`): that usage is settled and charged, once.
 * A provider's refusal (`remaining: 0`, a 429's retry hint) blocks the key
 * (or a keyless model) until its time; once the provider refuses every key of
 * a model, the model is blocked and announced rate limited until its first
 * key frees (`RateLimiter.observe` with `keysOf`), the selector ranks it rate
 * limited and requests wait in the queue for it. Returns what was charged (0 when
 * nothing was).
 */
export const failed = (
  s: AccountingServices,
  held: Held,
  error: {
    readonly _tag: string
    readonly status?: number | undefined
    readonly rateLimit?: RateLimitInfo | undefined
    readonly retryAfterMs?: number | undefined
    readonly usage?: Usage | undefined
    readonly attempts?: ReadonlyArray<{ readonly status?: number | undefined }> | undefined
    readonly notSent?: boolean | undefined
  },
  outcome: Outcome
): Effect.Effect<PicoUsd> =>
  Effect.gen(function* () {
    const { config, limit } = held
    const billed = error.usage ?? outcome.billed
    // Every HTTP request of the call that the provider answered (its retries included) counts in its requests.
    const answered = outcome.answered !== undefined
      ? outcome.answered
      : error.attempts === undefined
      ? (error.status === undefined ? 0 : 1) + (outcome.retried ?? 0)
      : error.attempts.filter((a) => a.status !== undefined).length
    if (billed !== undefined) yield* settleLimit(s, config, outcome.now, limit, limitedTokens(held.model, billed), answered - 1, billed.completion_tokens)
    else if (answered > 0) yield* settleLimit(s, config, outcome.now, limit, 0, answered - 1, 0)
    // Sent, most likely, with no answer read: the provider counts it, at about its estimate (its output reservation held).
    else if (mayHaveBeenSent(error)) yield* settleLimit(s, config, outcome.now, limit, limit.tokens, undefined, undefined)
    else yield* releaseLimit(s, config, outcome.now, limit)
    yield* refused(s, held, error)
    const charged = billed === undefined ? undefined : charge(s, held, billed, outcome)
    if (charged !== undefined) yield* commitCost(s, config, outcome.now, held.budget, charged.record)
    else yield* s.costs.release(held.budget)
    if (outcome.movedOn !== true) yield* failedRecord(s, held, error, outcome)
    return charged?.cost ?? (0 as PicoUsd)
  })

/**
 * The performance record of a call that `failed` (written there, unless the
 * call moved to another key: `Outcome.movedOn`). Offered when called, as
 * `recordAt` is: suspend it to write it later.
 */
export const failedRecord = (
  s: AccountingServices,
  held: Held,
  error: { readonly _tag: string; readonly usage?: Usage | undefined; readonly notSent?: boolean | undefined },
  outcome: Outcome
): Effect.Effect<void> =>
  recordPerformance(
    s,
    held.config,
    outcome.now,
    performanceRecord(held.model, held.startedAt, outcome, {
      success: false,
      // A call never sent (its model taken out while it waited for a permit) is out of the model's figures.
      errorClass: error.notSent === true ? notSent : error._tag,
      outputTokens: (error.usage ?? outcome.billed)?.completion_tokens ?? 0,
      cacheHit: false
    })
  )

/**
 * A stream that broke after it delivered output: the provider generated (and
 * bills) what was sent, so that usage is settled and its cost committed, as
 * for a stream the client left; the call is recorded as failed. Returns the
 * cost charged.
 */
export const failedAfterOutput = (
  s: AccountingServices,
  held: Held,
  error: { readonly _tag: string },
  usage: Usage,
  outcome: Outcome
): Effect.Effect<PicoUsd> =>
  Effect.gen(function* () {
    const { config, limit } = held
    yield* settleLimit(s, config, outcome.now, limit, limitedTokens(held.model, usage), outcome.retried, usage.completion_tokens)
    const { cost, record } = charge(s, held, usage, outcome)
    yield* commitCost(s, config, outcome.now, held.budget, record)
    yield* recordPerformance(
      s,
      config,
      outcome.now,
      performanceRecord(held.model, held.startedAt, outcome, { success: false, errorClass: error._tag, outputTokens: usage.completion_tokens, cacheHit: false })
    )
    return cost
  })

/** A cache hit: zero cost, its own latency. */
export const cacheHit = (
  s: AccountingServices,
  model: ModelMetadata,
  usage: Usage,
  startedAt: number,
  outcome: Outcome
) =>
  Effect.gen(function* () {
    yield* s.costs.record(
      uncheckedRecord(CostRecord, {
        at: outcome.now,
        requestId: outcome.requestId,
        model: model.id,
        provider: model.provider,
        agentType: outcome.requirements.agentType,
        taskType: outcome.requirements.taskType,
        ...usageTokens(usage),
        costPicoUsd: 0,
        cacheHit: true
      })
    )
    yield* s.performance.record(
      performanceRecord(model, startedAt, outcome, { success: true, outputTokens: usage.completion_tokens, cacheHit: true })
    )
  })
