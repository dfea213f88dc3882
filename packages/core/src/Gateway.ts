/**
 * Gateway: the request path of DESIGN.md, the one service an app needs.
 *
 * `make` composes the subsystem services: cache, selection, failover, limiter
 * reserve/settle, key rotation, provider call, cost, performance, evaluation,
 * cache write, events. Waiting for a candidate happens in a bounded priority
 * queue (`Gateway/WaitQueue.ts`); accounting in `Gateway/Accounting.ts`.
 */
import type { ChatChunk, ChatRequest, ChatResponse, Usage } from "@modelgate/domain/Chat"
import {
  AllCandidatesFailed,
  type BudgetExceeded,
  type Exclusion,
  type MissingApiKey,
  type ModelNotFound,
  ModelUnavailable,
  NoEligibleModel,
  type QueueTimeout,
  type RateLimitExceeded
} from "@modelgate/domain/Errors"
import { DegradedModeEntered, DegradedModeLeft, ModelSelected } from "@modelgate/domain/Events"
import type { ModelMetadata } from "@modelgate/domain/Model"
import { toUsd } from "@modelgate/domain/Money"
import { type ProviderError, StreamInterrupted } from "@modelgate/domain/ProviderError"
import type { RateLimitInfo } from "@modelgate/domain/RateLimitInfo"
import type { TaskRequirements } from "@modelgate/domain/Requirements"
import { Cause, Clock, Context, Effect, Exit, FiberRef, Layer, Option, Stream } from "effect"
import { ApiKeys } from "./ApiKeys.js"
import { CostTracker } from "./CostTracker.js"
import { Events } from "./Events.js"
import { type AttemptError, candidatesFor, Failover } from "./Failover.js"
import * as Abandon from "./Gateway/Abandon.js"
import * as Accounting from "./Gateway/Accounting.js"
import * as Streaming from "./Gateway/Streaming.js"
import * as WaitQueue from "./Gateway/WaitQueue.js"
import { GatewayConfig } from "./GatewayConfig.js"
import type { GatewayConfigData } from "./GatewayConfigSchema.js"
import { ModelRegistry } from "./ModelRegistry.js"
import { ModelSelector, type Ranking } from "./ModelSelector.js"
import { PerformanceMonitor } from "./PerformanceMonitor.js"
import { type Provider, type ProviderKey, Providers, type StreamResult } from "./Provider.js"
import { RateLimiter } from "./RateLimiter.js"
import { replay, ResponseCache } from "./ResponseCache.js"
import { ResponseEvaluator } from "./ResponseEvaluator.js"
import { defaultMaxOutputTokens, encodingFor, estimateOutputTokens, estimatePromptTokens } from "./TokenEstimator.js"

/** Every way a gateway request can fail before an answer starts. */
export type GatewayError =
  | ModelNotFound
  | ModelUnavailable
  | NoEligibleModel
  | BudgetExceeded
  | AllCandidatesFailed
  | QueueTimeout
  | RateLimitExceeded
  | MissingApiKey
  | ProviderError

/** Per-request options from the HTTP layer. */
export interface RequestOptions {
  readonly requestId?: string | undefined
  /** Cache TTL override for this request (`x-modelgate-cache-ttl`), in ms; 0 bypasses the cache. */
  readonly cacheTtlMs?: number | undefined
}

/** What the gateway did for a request: returned with every answer (and as `x-modelgate-*` headers). */
export interface AnswerMeta {
  readonly requestId: string
  readonly model: string
  readonly provider: string
  readonly cacheHit: boolean
  readonly failovers: number
  /** Known for complete answers; for streams, known once the stream ends. */
  readonly costUsd: number | undefined
}

/** A streamed answer: its metadata (fixed before the first byte) and its chunks. */
export interface StreamAnswer {
  readonly meta: AnswerMeta
  /** Fails with the provider's error if the stream breaks after it started; never ends cleanly when broken. */
  readonly chunks: Stream.Stream<ChatChunk, ProviderError>
}

/** The gateway's request path. */
export class Gateway extends Context.Tag("@modelgate/core/Gateway")<
  Gateway,
  {
    readonly complete: (
      request: ChatRequest,
      requirements: TaskRequirements,
      options?: RequestOptions
    ) => Effect.Effect<{ readonly response: ChatResponse; readonly meta: AnswerMeta }, GatewayError>
    readonly stream: (
      request: ChatRequest,
      requirements: TaskRequirements,
      options?: RequestOptions
    ) => Effect.Effect<StreamAnswer, GatewayError>
  }
>() {}

// ---------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------

/** How long an answered stream may wait for its consumer before it is abandoned (the client left). */
const abandonAfterMs = 30_000

/**
 * The request's span. One span per request while the tracer is on, opened
 * without a stack capture (`Effect.fn` made a `new Error()` per call); none
 * while it is off (the server runs so): even a no-op span cost ~35 Effect
 * steps per request (a context copy and a finalizer).
 */
const traced = <A, E>(name: string, effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.withFiberRuntime((fiber) =>
    fiber.getFiberRef(FiberRef.currentTracerEnabled) ? Effect.withSpan(effect, name, { captureStackTrace: false }) : effect
  )

/** A cheap prompt-size estimate (chars / 4) for ranking before a model is known. */
const roughPromptTokens = (request: ChatRequest): number => Math.ceil(JSON.stringify(request.messages).length / 4)

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

/** The models a request may run on, best first, and the score of each. */
interface Candidates {
  readonly models: ReadonlyArray<ModelMetadata>
  readonly ranking: Ranking
  /** Models left out of the ranking, and why: reported when every candidate fails. */
  readonly excluded: ReadonlyArray<Exclusion>
}

/** Build the gateway from the subsystem services. */
export const make = Effect.gen(function* () {
  const registry = yield* ModelRegistry
  const selector = yield* ModelSelector
  const failover = yield* Failover
  const limiter = yield* RateLimiter
  const keys = yield* ApiKeys
  const providers = yield* Providers
  const costs = yield* CostTracker
  const performance = yield* PerformanceMonitor
  const cache = yield* ResponseCache
  const evaluator = yield* ResponseEvaluator
  const events = yield* Events
  const config = yield* GatewayConfig
  const accounting: Accounting.AccountingServices = { limiter, costs, performance }
  const initial = yield* config.get
  const queue = yield* WaitQueue.make({ capacity: initial.failover.queueCapacity, pollMs: 1_000 })
  const abandoner = yield* Abandon.make(abandonAfterMs)
  // Plain variables, read and set synchronously inside effects: no Ref step per request (bench/README.md).
  let degraded = false
  let counter = 0

  /** A fresh request id from the request's start time. */
  const nextRequestId = (now: number): string => `mg-${now.toString(36)}-${(counter++).toString(36)}`

  const setDegraded = (on: boolean, reason: string) =>
    Effect.suspend(() => {
      if (degraded === on) return Effect.void
      degraded = on
      return announceDegraded(on, reason)
    })

  const announceDegraded = (on: boolean, reason: string) =>
    Effect.gen(function* () {
      const at = yield* Clock.currentTimeMillis
      if (on) {
        yield* Effect.logWarning(`degraded mode: ${reason}`)
        yield* events.publish(DegradedModeEntered.make({ at, component: "routing", reason }))
      } else {
        yield* Effect.logInfo("degraded mode left: candidates available again")
        yield* events.publish(DegradedModeLeft.make({ at, component: "routing" }))
      }
    })

  /**
   * When only budgets keep every candidate out, the typed `BudgetExceeded` of
   * the first one (so the client gets a 429 naming the budget, not a 503).
   */
  const budgetRefusal = (exclusions: ReadonlyArray<Exclusion>, requirements: TaskRequirements, promptTokens: number, request: ChatRequest) =>
    Effect.gen(function* () {
      const first = exclusions.find((e) => e.kind === "budget")
      if (first === undefined || exclusions.some((e) => e.kind !== "budget" && e.kind !== "permanent")) return
      const model = yield* Effect.option(registry.get(first.model))
      if (Option.isNone(model)) return
      const estimate = costs.cost(model.value, {
        promptTokens,
        completionTokens: estimateOutputTokens(request, model.value),
        cachedTokens: 0
      })
      yield* costs.checkBudget(model.value, requirements.agentType, estimate)
    })

  /**
   * Rank the candidates once; fails NoEligibleModel when none can serve now.
   * (Plain flatMap steps instead of generators on the request path: each
   * generator is an allocation and a few Effect steps per request.)
   */
  const rankOnce = (request: ChatRequest, requirements: TaskRequirements, begun: Begun) => {
    const { explicit, requestId } = begun
    const promptTokens = explicit === undefined ? roughPromptTokens(request) : estimatePromptTokens(request, explicit)
    const only = explicit === undefined ? undefined : [explicit.id, ...explicit.fallbacks]
    const input = {
      requirements,
      estimatedPromptTokens: promptTokens,
      maxOutputTokens: request.max_completion_tokens ?? request.max_tokens ?? defaultMaxOutputTokens,
      requestId,
      only
    }
    // `rankAt` runs its reads when called: suspended, so that each run (the queue re-runs it while
    // waiting) ranks afresh at its own time.
    const rankAt = selector.rankAt
    const rank = rankAt === undefined
      ? selector.rank(input)
      : Effect.suspend(() => rankAt(begun.config, begun.clock.unsafeCurrentTimeMillis(), input))
    return Effect.flatMap(
      rank,
      (ranking): Effect.Effect<Candidates, NoEligibleModel | BudgetExceeded | ModelNotFound> => {
        const ordered = candidatesFor(explicit ?? "auto", ranking)
        if (ordered.length > 0) return Effect.succeed({ models: ordered, ranking, excluded: ranking.excluded })
        const noneEligible = new NoEligibleModel({ exclusions: ranking.excluded, retryAfterMs: ranking.retryAfterMs })
        return WaitQueue.transient(noneEligible)
          ? Effect.fail(noneEligible)
          : Effect.zipRight(budgetRefusal(ranking.excluded, requirements, promptTokens, request), Effect.fail(noneEligible))
      }
    )
  }

  /** The queue deadline, read from the config only when a request has to wait. */
  const queueDeadlineMs = Effect.map(config.get, (c) => c.failover.queueDeadlineMs)

  /** Rank, waiting in the priority queue while nothing can serve; enters and leaves degraded mode. */
  const candidates = (request: ChatRequest, requirements: TaskRequirements, begun: Begun) =>
    Effect.matchEffect(queue.run(requirements.priority, queueDeadlineMs, rankOnce(request, requirements, begun)), {
      onFailure: (e) => Effect.zipRight(setDegraded(true, e.message), Effect.fail(e)),
      // The flag is read synchronously: leaving degraded mode costs a step only when it was on.
      onSuccess: (ranked) => (degraded ? Effect.as(setDegraded(false, ""), ranked) : Effect.succeed(ranked))
    })

  /** The cache key of a cacheable request (none when the cache does not apply). */
  const cacheKeyOf = (request: ChatRequest, requirements: TaskRequirements, explicit: ModelMetadata | undefined) =>
    cache.key(
      request,
      explicit?.id ??
        `auto|${[...requirements.capabilities].sort().join(",")}|${requirements.priority}|${requirements.maxCostPerRequestUsd ?? ""}|${requirements.maxLatencyMs ?? ""}|${requirements.minContextWindow ?? ""}|${requirements.taskType ?? ""}`
    )

  /** What a request has once it began: its id, start time, clock, explicit model and cache key. */
  interface Begun {
    readonly requestId: string
    readonly startedAt: number
    /**
     * The fiber's clock, read once per request: later timestamps are taken
     * with `unsafeCurrentTimeMillis` inside steps the request runs anyway
     * instead of one `Clock.currentTimeMillis` step each (TestClock included).
     */
    readonly clock: Clock.Clock
    /** The config, read once when the request began: ranking and accounting run on it. */
    readonly config: GatewayConfigData
    readonly explicit: ModelMetadata | undefined
    readonly key: string | undefined
  }

  /** What every request starts with: its id, start time, explicit model and cache key. */
  const begin = (request: ChatRequest, requirements: TaskRequirements, options: RequestOptions | undefined) =>
    Effect.flatMap(config.get, (current) =>
      Effect.clockWith((clock) => {
        const startedAt = clock.unsafeCurrentTimeMillis()
        const requestId = options?.requestId ?? nextRequestId(startedAt)
        const withModel = (explicit: ModelMetadata | undefined): Effect.Effect<Begun> =>
          options?.cacheTtlMs === 0
            ? Effect.succeed({ requestId, startedAt, clock, config: current, explicit, key: undefined })
            : Effect.map(cache.cacheable(request), (cacheable) => ({
              requestId,
              startedAt,
              clock,
              config: current,
              explicit,
              key: cacheable ? cacheKeyOf(request, requirements, explicit) : undefined
            }))
        return request.model === "auto" ? withModel(undefined) : Effect.flatMap(registry.resolve(request.model), withModel)
      }))

  /** A cached answer, recorded as a hit (zero cost, its own latency). */
  const cacheHit = (requirements: TaskRequirements, begun: Begun, streamed: boolean, response: ChatResponse) =>
    Effect.gen(function* () {
      const model = yield* registry.get(response.model).pipe(Effect.orElseSucceed(() => begun.explicit))
      const now = begun.clock.unsafeCurrentTimeMillis()
      if (model !== undefined) {
        yield* Accounting.cacheHit(accounting, model, response.usage, begun.startedAt, { requestId: begun.requestId, requirements, now, streamed })
      }
      const meta: AnswerMeta = {
        requestId: begun.requestId,
        model: response.model,
        provider: model?.provider ?? "cache",
        cacheHit: true,
        failovers: 0,
        costUsd: 0
      }
      return Option.some({ response: { ...response, id: `chatcmpl-${begun.requestId}` }, meta })
    })

  /** The cached answer, recorded as a hit, when there is one. */
  const fromCache = (requirements: TaskRequirements, begun: Begun, streamed: boolean) =>
    begun.key === undefined
      ? Effect.succeedNone
      : Effect.flatMap(cache.get(begun.key), (cached) =>
        Option.isNone(cached) ? Effect.succeedNone : cacheHit(requirements, begun, streamed, cached.value))

  const providerRequest = (request: ChatRequest, model: ModelMetadata): ChatRequest => ({ ...request, model: model.providerModel })

  /** Everything one attempt holds: the adapter, the key, the reservations. */
  interface Attempt {
    readonly model: ModelMetadata
    readonly provider: Provider
    readonly key: ProviderKey | undefined
    readonly held: Accounting.Held
    readonly promptTokens: number
  }

  /** What a failed attempt is recorded as: its typed failure, or `Interrupted`. */
  const failureOf = (cause: Cause.Cause<ProviderError>) =>
    Option.getOrElse(Cause.failureOption(cause), () => ({ _tag: "Interrupted" }) as const)

  /**
   * One attempt on `model`: take a key, reserve budget and rate-limit capacity,
   * run `use` (interruptible), then `after` with its result. If `use` fails or
   * is interrupted the reservations are given back and a failed performance
   * record is written: nothing is left half-held. Everything but `use` runs
   * uninterruptibly, so the accounting of a finished call is never cut short.
   */
  const attemptOn = <A, B>(
    request: ChatRequest,
    requirements: TaskRequirements,
    begun: Begun,
    streamed: boolean,
    use: (attempt: Attempt) => Effect.Effect<A, ProviderError>,
    after: (attempt: Attempt, value: A) => Effect.Effect<B>
  ) => {
    const promptTokensOn = promptEstimator(request)
    const { clock, requestId } = begun
    return (model: ModelMetadata): Effect.Effect<B, AttemptError> => {
      const provider = providers.get(model.provider)
      if (provider === undefined) {
        return Effect.fail(new ModelUnavailable({ model: model.id, reason: `no adapter for provider ${model.provider}` }))
      }
      return Effect.uninterruptibleMask((restore) => {
        const run = (key: ProviderKey | undefined) => {
          const promptTokens = promptTokensOn(model)
          const hold = Accounting.hold(
            accounting,
            begun.config,
            model,
            key,
            promptTokens,
            estimateOutputTokens(request, model),
            requirements,
            clock.unsafeCurrentTimeMillis()
          )
          return Effect.flatMap(hold, (held) => {
            const attempt: Attempt = { model, provider, key, held, promptTokens }
            // One match instead of `Effect.onExit` (~10 steps): this region is already uninterruptible.
            return Effect.matchCauseEffect(restore(use(attempt)), {
              onFailure: (cause) =>
                Effect.zipRight(
                  Accounting.failed(accounting, held, failureOf(cause), {
                    requestId,
                    requirements,
                    now: clock.unsafeCurrentTimeMillis(),
                    streamed
                  }),
                  Effect.failCause(cause)
                ),
              onSuccess: (value) => after(attempt, value)
            })
          })
        }
        return provider.requiresKey ? Effect.flatMap(keys.next(model.provider), run) : run(undefined)
      })
    }
  }

  /**
   * Failover over the candidates; when all fail, the error also lists the models
   * that were not eligible and why (a missing key, a budget), so the client
   * learns what to fix.
   */
  const runOver = <A>(
    ranked: Candidates,
    attempt: (model: ModelMetadata) => Effect.Effect<A, AttemptError>,
    requestId: string
  ) =>
    failover.run(ranked.models, attempt, { requestId }).pipe(
      Effect.catchTag("AllCandidatesFailed", (e) =>
        Effect.fail(
          ranked.excluded.length === 0
            ? e
            : new AllCandidatesFailed({
              failures: [...e.failures, ...ranked.excluded.map((x) => ({ model: x.model, tag: "NotEligible", message: x.reason }))],
              retryAfterMs: e.retryAfterMs
            })
        )
      )
    )

  const selected = (begun: Begun, model: ModelMetadata, ranked: Candidates, failovers: number) =>
    events.publish(
      new ModelSelected({
        at: begun.clock.unsafeCurrentTimeMillis(),
        requestId: begun.requestId,
        model: model.id,
        score: ranked.ranking.ranked.find((r) => r.model.id === model.id)?.score ?? 0,
        reason: failovers === 0 ? "top ranked candidate" : `after ${failovers} failover(s)`
      }, true)
    )

  /** Run `answer` unless the cache has the answer (a cache hit is returned as is). */
  const unlessCached = <A, E>(
    requirements: TaskRequirements,
    begun: Begun,
    streamed: boolean,
    answer: Effect.Effect<A, E>,
    hit: (cached: { readonly response: ChatResponse; readonly meta: AnswerMeta }) => A
  ): Effect.Effect<A, E> =>
    begun.key === undefined
      ? answer
      : Effect.flatMap(fromCache(requirements, begun, streamed), (cached) => (Option.isSome(cached) ? Effect.succeed(hit(cached.value)) : answer))

  /** A complete answer: selection, failover, the call and its accounting, then events, evaluation and the cache. */
  const completeAnswer = (request: ChatRequest, requirements: TaskRequirements, options: RequestOptions | undefined, begun: Begun) => {
    const { requestId } = begun
    const call = attemptOn(
      request,
      requirements,
      begun,
      false,
      ({ key, model, provider }) => provider.chat({ request: providerRequest(request, model), model, key }),
      ({ held }, result) =>
        Effect.map(
          Accounting.succeeded(accounting, held, result.response.usage, result.rateLimit, {
            requestId,
            requirements,
            now: begun.clock.unsafeCurrentTimeMillis(),
            streamed: false
          }),
          (cost) => ({ response: result.response, cost })
        )
    )
    return Effect.flatMap(candidates(request, requirements, begun), (ranked) =>
      Effect.flatMap(runOver(ranked, call, requestId), (outcome) => {
        const model = outcome.model
        const response: ChatResponse = { ...outcome.value.response, model: model.id }
        const answer = {
          response,
          meta: {
            requestId,
            model: model.id,
            provider: model.provider,
            cacheHit: false,
            failovers: outcome.failovers,
            costUsd: toUsd(outcome.value.cost)
          } satisfies AnswerMeta
        }
        const evaluated = Effect.flatMap(
          selected(begun, model, ranked, outcome.failovers),
          () => evaluator.evaluate({ requestId, model: model.id, taskType: requirements.taskType, request, response })
        )
        const key = begun.key
        return key === undefined
          ? Effect.as(evaluated, answer)
          : Effect.as(Effect.flatMap(evaluated, () => cache.set(key, response, options?.cacheTtlMs)), answer)
      }))
  }

  const complete: Gateway["Type"]["complete"] = (request, requirements, options) =>
    traced(
      "Gateway.complete",
      Effect.flatMap(begin(request, requirements, options), (begun) =>
        unlessCached(requirements, begun, false, completeAnswer(request, requirements, options, begun), (hit) => hit))
    )

  /**
   * Account for a stream when it ends: its usage (estimated when the provider
   * sent none), or its failure. A stream that ended cleanly with real usage is
   * evaluated and cached like a complete answer.
   */
  const settleStream = (
    attempt: Attempt,
    rateLimit: RateLimitInfo | undefined,
    request: ChatRequest,
    requirements: TaskRequirements,
    begun: Begun,
    cacheTtlMs: number | undefined
  ) =>
  (summary: Streaming.StreamSummary, exit: Exit.Exit<void, ProviderError>): Effect.Effect<void> =>
    Effect.suspend(() => {
      const { requestId } = begun
      const ctx = {
        requestId,
        requirements,
        now: begun.clock.unsafeCurrentTimeMillis(),
        streamed: true,
        timeToFirstTokenMs: summary.timeToFirstTokenMs
      }
      const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
      if (Option.isSome(failure)) return Accounting.failed(accounting, attempt.held, failure.value, ctx)
      // Ended, or the client went away: the provider generated (and bills) what was sent.
      const usage: Usage = summary.usage ?? {
        prompt_tokens: attempt.promptTokens,
        completion_tokens: summary.chunks,
        total_tokens: attempt.promptTokens + summary.chunks,
        estimated: true
      }
      const accounted = Effect.asVoid(Accounting.succeeded(accounting, attempt.held, usage, rateLimit, ctx))
      const response = Exit.isSuccess(exit) ? Streaming.assemble(summary, `chatcmpl-${requestId}`, attempt.model.id) : undefined
      if (response === undefined) return accounted
      const key = begun.key
      return accounted.pipe(
        Effect.flatMap(() => evaluator.evaluate({ requestId, model: attempt.model.id, taskType: requirements.taskType, request, response })),
        Effect.flatMap(() => (key === undefined ? Effect.void : cache.set(key, response, cacheTtlMs)))
      )
    })

  /**
   * The client's stream of an attempt whose first chunk arrived: delivered
   * (renamed, watched, settled once at its end) and watched for abandonment
   * until the client starts reading it.
   */
  const answerStream = (
    request: ChatRequest,
    requirements: TaskRequirements,
    begun: Begun,
    cacheTtlMs: number | undefined,
    attempt: Attempt,
    started: StreamResult,
    peeled: Streaming.Peeled<ProviderError>
  ): Stream.Stream<ChatChunk, ProviderError> => {
    const { model } = attempt
    const { requestId } = begun
    const settle = settleStream(attempt, started.rateLimit, request, requirements, begun, cacheTtlMs)
    // Exactly once: by the stream's end, or by abandonment (whichever comes first).
    let settled = false
    const settleOnce = (summary: Streaming.StreamSummary, exit: Exit.Exit<void, ProviderError>) =>
      Effect.suspend(() => {
        if (settled) return Effect.void
        settled = true
        return settle(summary, exit)
      })
    const abandoned = () =>
      new StreamInterrupted({ provider: model.provider, model: model.id, detail: "the stream was not read in time and was abandoned" })
    const pending = abandoner.register(
      begun.clock.unsafeCurrentTimeMillis(),
      peeled.close.pipe(
        // The error is built only if the stream is abandoned (a schema-class error costs ~25 us).
        Effect.zipRight(Effect.suspend(() => settleOnce(Streaming.emptySummary, Exit.fail(neverStarted(model))))),
        Effect.zipRight(Effect.logWarning(`stream ${requestId} on ${model.id} was never read; upstream closed, reservations released`))
      )
    )
    const id = `chatcmpl-${requestId}`
    return Streaming.deliver(peeled, {
      clock: begun.clock,
      startedAt: attempt.held.startedAt,
      rename: (chunk) => ({ ...chunk, model: model.id, id }),
      onStart: pending.start,
      tooLate: abandoned,
      onEnd: settleOnce
    })
  }

  const neverStarted = (model: ModelMetadata): ProviderError =>
    new StreamInterrupted({ provider: model.provider, model: model.id, detail: "the stream ended before its first chunk" })

  /** A streamed answer: selection, failover until the first chunk, then the stream. */
  const streamAnswer = (request: ChatRequest, requirements: TaskRequirements, options: RequestOptions | undefined, begun: Begun) => {
    const { requestId } = begun
    const call = attemptOn(
      request,
      requirements,
      begun,
      true,
      ({ key, model, provider }) =>
        Effect.flatMap(provider.stream({ request: providerRequest(request, model), model, key }), (started) =>
          Effect.map(Streaming.peelFirst(started.chunks, () => neverStarted(model)), (peeled) => ({ started, peeled }))),
      (attempt, { peeled, started }) =>
        Effect.sync(() => answerStream(request, requirements, begun, options?.cacheTtlMs, attempt, started, peeled))
    )
    return Effect.flatMap(candidates(request, requirements, begun), (ranked) =>
      Effect.flatMap(runOver(ranked, call, requestId), (outcome) =>
        Effect.as(selected(begun, outcome.model, ranked, outcome.failovers), {
          meta: {
            requestId,
            model: outcome.model.id,
            provider: outcome.model.provider,
            cacheHit: false,
            failovers: outcome.failovers,
            costUsd: undefined
          },
          chunks: outcome.value
        } satisfies StreamAnswer)))
  }

  const stream: Gateway["Type"]["stream"] = (request, requirements, options) =>
    traced(
      "Gateway.stream",
      Effect.flatMap(begin(request, requirements, options), (begun) =>
        unlessCached(
          requirements,
          begun,
          true,
          streamAnswer(request, requirements, options, begun),
          (hit): StreamAnswer => ({ meta: hit.meta, chunks: replay(hit.response) })
        ))
    )

  return Gateway.of({ complete, stream })
})

/** The live gateway; every subsystem service is provided by the caller (see `GatewayLive` in `@modelgate/node`). */
export const layer = Layer.scoped(Gateway, make)
