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
import { Cause, Clock, Context, Effect, Exit, Layer, Option, Stream } from "effect"
import { ApiKeys } from "./ApiKeys.js"
import { CostTracker } from "./CostTracker.js"
import { Events } from "./Events.js"
import { type AttemptError, candidatesFor, Failover } from "./Failover.js"
import * as Accounting from "./Gateway/Accounting.js"
import * as Streaming from "./Gateway/Streaming.js"
import * as WaitQueue from "./Gateway/WaitQueue.js"
import { GatewayConfig } from "./GatewayConfig.js"
import { ModelRegistry } from "./ModelRegistry.js"
import { ModelSelector } from "./ModelSelector.js"
import { PerformanceMonitor } from "./PerformanceMonitor.js"
import { type Provider, type ProviderKey, Providers } from "./Provider.js"
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
  readonly scores: ReadonlyMap<string, number>
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

  /** Rank the candidates once; fails NoEligibleModel when none can serve now. */
  const rankOnce = (request: ChatRequest, requirements: TaskRequirements, explicit: ModelMetadata | undefined, requestId: string) =>
    Effect.gen(function* () {
      const promptTokens = explicit === undefined ? roughPromptTokens(request) : estimatePromptTokens(request, explicit)
      const only = explicit === undefined ? undefined : [explicit.id, ...explicit.fallbacks]
      const ranking = yield* selector.rank({
        requirements,
        estimatedPromptTokens: promptTokens,
        maxOutputTokens: request.max_completion_tokens ?? request.max_tokens ?? defaultMaxOutputTokens,
        requestId,
        only
      })
      const ordered = candidatesFor(explicit ?? "auto", ranking)
      if (ordered.length === 0) {
        const noneEligible = new NoEligibleModel({ exclusions: ranking.excluded, retryAfterMs: ranking.retryAfterMs })
        if (!WaitQueue.transient(noneEligible)) yield* budgetRefusal(ranking.excluded, requirements, promptTokens, request)
        return yield* noneEligible
      }
      return {
        models: ordered,
        scores: new Map(ranking.ranked.map((r) => [r.model.id, r.score])),
        excluded: ranking.excluded
      } satisfies Candidates
    })

  /** Rank, waiting in the priority queue while nothing can serve. */
  const candidates = (request: ChatRequest, requirements: TaskRequirements, explicit: ModelMetadata | undefined, requestId: string) =>
    Effect.gen(function* () {
      const conf = yield* config.get
      return yield* queue.run(requirements.priority, conf.failover.queueDeadlineMs, rankOnce(request, requirements, explicit, requestId)).pipe(
        Effect.tapError((e) => setDegraded(true, e.message)),
        Effect.tap(() => setDegraded(false, ""))
      )
    })

  const resolveExplicit = (request: ChatRequest): Effect.Effect<ModelMetadata | undefined, ModelNotFound> =>
    request.model === "auto" ? Effect.succeed(undefined) : registry.resolve(request.model)

  /** The cache key of a cacheable request (none when the cache does not apply). */
  const cacheKeyOf = (request: ChatRequest, requirements: TaskRequirements, explicit: ModelMetadata | undefined, options: RequestOptions | undefined) =>
    Effect.map(cache.cacheable(request), (cacheable) =>
      !cacheable || options?.cacheTtlMs === 0
        ? undefined
        : cache.key(
          request,
          explicit?.id ??
            `auto|${[...requirements.capabilities].sort().join(",")}|${requirements.priority}|${requirements.maxCostPerRequestUsd ?? ""}|${requirements.maxLatencyMs ?? ""}|${requirements.minContextWindow ?? ""}|${requirements.taskType ?? ""}`
        )
    )

  /** What every request starts with: its id, start time, explicit model and cache key. */
  const begin = (request: ChatRequest, requirements: TaskRequirements, options: RequestOptions | undefined) =>
    Effect.gen(function* () {
      const startedAt = yield* Clock.currentTimeMillis
      const requestId = options?.requestId ?? nextRequestId(startedAt)
      const explicit = yield* resolveExplicit(request)
      const key = yield* cacheKeyOf(request, requirements, explicit, options)
      return { requestId, startedAt, explicit, key }
    })

  type Begun = Effect.Effect.Success<ReturnType<typeof begin>>

  /** The cached answer, recorded as a hit (zero cost, its own latency), when there is one. */
  const fromCache = (requirements: TaskRequirements, begun: Begun, streamed: boolean) =>
    Effect.gen(function* () {
      if (begun.key === undefined) return Option.none()
      const cached = yield* cache.get(begun.key)
      if (Option.isNone(cached)) return Option.none()
      const response = cached.value
      const model = yield* registry.get(response.model).pipe(Effect.orElseSucceed(() => begun.explicit))
      const now = yield* Clock.currentTimeMillis
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

  /** Key and provider for one attempt on `model`. */
  const prepare = (model: ModelMetadata) =>
    Effect.gen(function* () {
      const provider = providers.get(model.provider)
      if (provider === undefined) {
        return yield* new ModelUnavailable({ model: model.id, reason: `no adapter for provider ${model.provider}` })
      }
      const key = provider.requiresKey ? yield* keys.next(model.provider) : undefined
      return { provider, key } as const
    })

  const providerRequest = (request: ChatRequest, model: ModelMetadata): ChatRequest => ({ ...request, model: model.providerModel })

  /** Everything one attempt holds: the adapter, the key, the reservations. */
  interface Attempt {
    readonly model: ModelMetadata
    readonly provider: Provider
    readonly key: ProviderKey | undefined
    readonly held: Accounting.Held
    readonly promptTokens: number
  }

  /**
   * One attempt on `model`: reserve budget and rate-limit capacity, take a key,
   * run `use`. If `use` fails or is interrupted the reservations are given back
   * and a failed performance record is written: nothing is left half-held.
   */
  const attemptOn = <A>(
    request: ChatRequest,
    requirements: TaskRequirements,
    requestId: string,
    streamed: boolean,
    use: (attempt: Attempt) => Effect.Effect<A, ProviderError>
  ) => {
    const promptTokensOn = promptEstimator(request)
    return (model: ModelMetadata) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function* () {
          const { provider, key } = yield* prepare(model)
          const callStart = yield* Clock.currentTimeMillis
          const promptTokens = promptTokensOn(model)
          const held = yield* Accounting.hold(
            accounting,
            model,
            key,
            promptTokens,
            estimateOutputTokens(request, model),
            requirements,
            callStart
          )
          return yield* restore(use({ model, provider, key, held, promptTokens })).pipe(
            Effect.onExit((exit) =>
              Exit.isSuccess(exit)
                ? Effect.void
                : Effect.flatMap(Clock.currentTimeMillis, (now) =>
                  Accounting.failed(
                    accounting,
                    held,
                    Option.getOrElse(Cause.failureOption(exit.cause), () => ({ _tag: "Interrupted" }) as const),
                    { requestId, requirements, now, streamed }
                  ))
            )
          )
        })
      )
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

  const selected = (requestId: string, model: ModelMetadata, ranked: Candidates, failovers: number) =>
    Effect.flatMap(Clock.currentTimeMillis, (at) =>
      events.publish(
        new ModelSelected({
          at,
          requestId,
          model: model.id,
          score: ranked.scores.get(model.id) ?? 0,
          reason: failovers === 0 ? "top ranked candidate" : `after ${failovers} failover(s)`
        }, true)
      )
    )

  const complete: Gateway["Type"]["complete"] = Effect.fn("Gateway.complete")(function* (request, requirements, options) {
    const begun = yield* begin(request, requirements, options)
    const { requestId } = begun
    const cached = yield* fromCache(requirements, begun, false)
    if (Option.isSome(cached)) return cached.value
    const ranked = yield* candidates(request, requirements, begun.explicit, requestId)
    const outcome = yield* runOver(
      ranked,
      attemptOn(request, requirements, requestId, false, ({ held, key, model, provider }) =>
        Effect.gen(function* () {
          const result = yield* provider.chat({ request: providerRequest(request, model), model, key })
          const now = yield* Clock.currentTimeMillis
          const cost = yield* Accounting.succeeded(accounting, held, result.response.usage, result.rateLimit, {
            requestId,
            requirements,
            now,
            streamed: false
          })
          return { response: result.response, cost }
        })),
      requestId
    )
    const model = outcome.model
    const response: ChatResponse = { ...outcome.value.response, model: model.id }
    yield* selected(requestId, model, ranked, outcome.failovers)
    yield* evaluator.evaluate({ requestId, model: model.id, taskType: requirements.taskType, request, response })
    if (begun.key !== undefined) yield* cache.set(begun.key, response, options?.cacheTtlMs)
    return {
      response,
      meta: {
        requestId,
        model: model.id,
        provider: model.provider,
        cacheHit: false,
        failovers: outcome.failovers,
        costUsd: toUsd(outcome.value.cost)
      }
    }
  })

  /** Account for a stream when it ends: its usage (estimated when the provider sent none), or its failure. */
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
  (summary: Streaming.StreamSummary, exit: Exit.Exit<void, ProviderError>) =>
    Effect.gen(function* () {
      const { requestId } = begun
      const now = yield* Clock.currentTimeMillis
      const ctx = { requestId, requirements, now, streamed: true, timeToFirstTokenMs: summary.timeToFirstTokenMs }
      const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
      if (Option.isSome(failure)) return yield* Accounting.failed(accounting, attempt.held, failure.value, ctx)
      // Ended, or the client went away: the provider generated (and bills) what was sent.
      const usage: Usage = summary.usage ?? {
        prompt_tokens: attempt.promptTokens,
        completion_tokens: summary.chunks,
        total_tokens: attempt.promptTokens + summary.chunks,
        estimated: true
      }
      yield* Accounting.succeeded(accounting, attempt.held, usage, rateLimit, ctx)
      if (!Exit.isSuccess(exit)) return
      const response = Streaming.assemble(summary, `chatcmpl-${requestId}`, attempt.model.id)
      if (response === undefined) return
      yield* evaluator.evaluate({ requestId, model: attempt.model.id, taskType: requirements.taskType, request, response })
      if (begun.key !== undefined) yield* cache.set(begun.key, response, cacheTtlMs)
    })

  const stream: Gateway["Type"]["stream"] = Effect.fn("Gateway.stream")(function* (request, requirements, options) {
    const begun = yield* begin(request, requirements, options)
    const { requestId } = begun
    const cached = yield* fromCache(requirements, begun, true)
    if (Option.isSome(cached)) {
      return { meta: cached.value.meta, chunks: replay(cached.value.response) } satisfies StreamAnswer
    }
    const ranked = yield* candidates(request, requirements, begun.explicit, requestId)
    const outcome = yield* runOver(
      ranked,
      attemptOn(request, requirements, requestId, true, (attempt) =>
        Effect.gen(function* () {
          const { key, model, provider } = attempt
          const started = yield* provider.stream({ request: providerRequest(request, model), model, key })
          const interrupted = (): ProviderError =>
            new StreamInterrupted({ provider: model.provider, model: model.id, detail: "the stream ended before its first chunk" })
          const first = yield* Streaming.peelFirst(started.chunks, interrupted)
          const renamed = Stream.map(first.stream, (chunk): ChatChunk => ({ ...chunk, model: model.id, id: `chatcmpl-${requestId}` }))
          const settle = settleStream(attempt, started.rateLimit, request, requirements, begun, options?.cacheTtlMs)
          const watched = Streaming.watch(renamed, attempt.held.startedAt, settle)
          return yield* Streaming.abandonUnlessStarted(
            watched,
            abandonAfterMs,
            first.close.pipe(
              Effect.zipRight(settle(Streaming.emptySummary, Exit.fail(interrupted()))),
              Effect.zipRight(Effect.logWarning(`stream ${requestId} on ${model.id} was never read; upstream closed, reservations released`))
            )
          )
        })),
      requestId
    )
    yield* selected(requestId, outcome.model, ranked, outcome.failovers)
    return {
      meta: {
        requestId,
        model: outcome.model.id,
        provider: outcome.model.provider,
        cacheHit: false,
        failovers: outcome.failovers,
        costUsd: undefined
      },
      chunks: outcome.value
    } satisfies StreamAnswer
  })

  return Gateway.of({ complete, stream })
})

/** The live gateway; every subsystem service is provided by the caller (see `GatewayLive` in `@modelgate/node`). */
export const layer = Layer.scoped(Gateway, make)
