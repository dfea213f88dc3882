/**
 * Gateway: the request path of DESIGN.md, the one service an app needs.
 *
 * `make` composes the subsystem services: cache, selection, failover, limiter
 * reserve/settle, key rotation, provider call, cost, performance, evaluation,
 * cache write, events. The pieces live in `Gateway/`: the services record
 * (`Services.ts`), the request's start and cache lookup (`RequestStart.ts`),
 * ranking and waiting in the bounded priority queue (`Candidates.ts`,
 * `WaitQueue.ts`), one attempt and failover (`Attempt.ts`), accounting
 * (`Accounting.ts`), and the two answers (`CompleteAnswer.ts`,
 * `StreamedAnswer.ts`, with `Streaming.ts` and `Abandon.ts`), and the trials a
 * ranking claimed, given back when the request is done with their model (`Trial.ts`), and the
 * identical complete requests in flight at once, answered by one call (`InFlight.ts`).
 */
import type { ChatChunk, ChatRequest, ChatResponse, Usage } from "@modelgate/domain/Chat"
import type {
  AllCandidatesFailed,
  BudgetExceeded,
  KeyRevoked,
  MissingApiKey,
  ModelNotAllowed,
  ModelNotFound,
  ModelUnavailable,
  NoEligibleModel,
  QueueTimeout,
  RateLimitExceeded,
  ShuttingDown,
  UnsupportedParameter
} from "@modelgate/domain/Errors"
import type { ProviderError } from "@modelgate/domain/ProviderError"
import type { TaskRequirements } from "@modelgate/domain/Requirements"
import { Context, Effect, FiberRef, Layer, type Stream } from "effect"
import { stillKeyed } from "./Gateway/Candidates.js"
import { completeAnswer } from "./Gateway/CompleteAnswer.js"
import * as InFlight from "./Gateway/InFlight.js"
import { begin, unlessCached } from "./Gateway/RequestStart.js"
import * as Services from "./Gateway/Services.js"
import { streamAnswer } from "./Gateway/StreamedAnswer.js"
import type { StreamPull } from "./Gateway/Streaming.js"

export type { StreamPull }
import { replay } from "./ResponseCache.js"

/** Every way a gateway request can fail before an answer starts. */
export type GatewayError =
  | ModelNotFound
  | ModelNotAllowed
  | UnsupportedParameter
  | ModelUnavailable
  | NoEligibleModel
  | BudgetExceeded
  | AllCandidatesFailed
  | QueueTimeout
  | ShuttingDown
  | KeyRevoked
  | RateLimitExceeded
  | MissingApiKey
  | ProviderError

/** Per-request options from the HTTP layer. */
export interface RequestOptions {
  readonly requestId?: string | undefined
  /** Cache TTL override for this request (`x-modelgate-cache-ttl`), in ms; 0 bypasses the cache. */
  readonly cacheTtlMs?: number | undefined
  /**
   * Completes when the server starts shutting down (`HttpApp` passes its
   * drain): a request still waiting in the queue, or for a concurrency
   * permit (`CallContext.closing`), then fails at once with `ShuttingDown`
   * (never sent) instead of holding the shutdown until its
   * deadline, or being sent in the middle of it. A request already sent is
   * not affected.
   */
  readonly closing?: Effect.Effect<void> | undefined
  /**
   * Whether the key the request came with no longer lets it in, asked at
   * each look of the queue while it waits: `true` (a reload removed its
   * virtual key) ends the wait with `KeyRevoked`, never sent. The HTTP
   * server asks its auth, which alone knows whether any key is required (a
   * reload that removes every virtual key of a server without a master key
   * opens `/v1/*`, so it revokes nothing). Without it, never revoked.
   */
  readonly keyRevoked?: (() => boolean) | undefined
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

/**
 * What a request that failed had done once it tried a model (an attempt
 * began on it: its provider was called, or the gateway's own limit or budget
 * refused it there): the last model tried, how many times it moved on to
 * another model, and what it was charged in all (answers a provider billed
 * but that could not be used; the sum of its cost records). The HTTP server
 * sends it as the error answer's `x-modelgate-*` headers.
 */
export interface FailureMeta {
  readonly requestId: string
  /** The last model tried, and its provider. */
  readonly model: string
  readonly provider: string
  /** Moves to another model: the models tried less one. */
  readonly failovers: number
  /** What the request was charged, in USD (0 when nothing was billed). */
  readonly costUsd: number
}

/** A streamed answer: its metadata (fixed before the first byte) and its chunks. */
export interface StreamAnswer {
  readonly meta: AnswerMeta
  /** Fails with the provider's error if the stream breaks after it started; never ends cleanly when broken. */
  readonly chunks: Stream.Stream<ChatChunk, ProviderError>
  /**
   * The same chunks as a bare pull, when the answer offers one (a provider's
   * stream does, a cache replay does not): a consumer with its own pull loop
   * (the HTTP SSE writer) reads the upstream through one pull layer rather
   * than a second channel over `chunks`. Read an answer through `chunks` or
   * `open`, never both; `close` the pull once, with the outcome.
   */
  readonly open?: (() => StreamPull) | undefined
  /**
   * The stream's cost in USD once it is settled: after its chunks ended or
   * its pull was closed (the HTTP server sends it as the trailer
   * `x-modelgate-cost-usd`), a stream that broke after its first chunk
   * included (what it was charged: the provider bills what it began).
   * Undefined before, or when the answer does not offer it (`meta.costUsd`
   * already holds a replay's 0).
   */
  readonly settledCostUsd?: (() => number | undefined) | undefined
  /**
   * The usage the stream was charged for, once it is settled with a cost (as
   * `settledCostUsd`): the provider's report, or an estimate when the stream
   * ended or broke before it (`estimated: true`). Undefined before.
   */
  readonly settledUsage?: (() => Usage | undefined) | undefined
}

/** The gateway's request path. */
export class Gateway extends Context.Tag("@modelgate/core/Gateway")<
  Gateway,
  {
    /**
     * Answer `request` whole: from the cache, or on the best model for `requirements`, failing over to the next.
     * A cacheable request identical to one being answered waits for that answer, a cache hit (`Gateway/InFlight.ts`).
     */
    readonly complete: (
      request: ChatRequest,
      requirements: TaskRequirements,
      options?: RequestOptions
    ) => Effect.Effect<{ readonly response: ChatResponse; readonly meta: AnswerMeta }, GatewayError>
    /** `complete` as a stream of chunks; fails over only until the first chunk is sent. */
    readonly stream: (
      request: ChatRequest,
      requirements: TaskRequirements,
      options?: RequestOptions
    ) => Effect.Effect<StreamAnswer, GatewayError>
    /**
     * What a request had done when `complete` or `stream` failed with
     * `error`: undefined when it failed before trying any model (a bad
     * request, an unknown model, nothing eligible). Optional: a gateway of
     * one's own (a test double) may leave it out.
     */
    readonly failureMeta?: ((error: GatewayError) => FailureMeta | undefined) | undefined
  }
>() {}


// ---------------------------------------------------------------------------
// Implementation (the pieces are in Gateway/)
// ---------------------------------------------------------------------------

/**
 * The request's span. One span per request while the tracer is on, opened
 * without a stack capture (`Effect.fn` made a `new Error()` per call); none
 * while it is off (the server runs so): even a no-op span cost ~35 Effect
 * steps per request (a context copy and a finalizer). `effect` is told
 * whether the request is traced (its attempts then get spans of their own).
 */
const traced = <A, E>(name: string, effect: (on: boolean) => Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.withFiberRuntime((fiber) =>
    fiber.getFiberRef(FiberRef.currentTracerEnabled) ? Effect.withSpan(effect(true), name, { captureStackTrace: false }) : effect(false)
  )

/** Build the gateway from the subsystem services. */
export const make = Effect.map(Services.make, (s) => {
  const complete: Gateway["Type"]["complete"] = (request, requirements, options) =>
    traced("Gateway.complete", (on) =>
      Effect.flatMap(begin(s, request, requirements, options, on), (begun) => {
        if (begun.key === undefined) return completeAnswer(s, request, requirements, options, begun)
        // A miss waits for an identical request in flight, if any, then looks again: a miss then is answered alone (`InFlight.ts`).
        // A key revoked while it waited gets nothing, not even the hit (as a wait in the queue would end: `KeyRevoked`).
        const answer = () => completeAnswer(s, request, requirements, options, begun)
        const alone = () => Effect.zipRight(stillKeyed(begun), unlessCached(s, requirements, begun, false, answer(), (hit) => hit))
        return unlessCached(s, requirements, begun, false, InFlight.leading(s.inFlight, begun, requirements.priority, answer, alone), (hit) => hit)
      })
    )

  const stream: Gateway["Type"]["stream"] = (request, requirements, options) =>
    traced("Gateway.stream", (on) =>
      Effect.flatMap(begin(s, request, requirements, options, on), (begun) =>
        unlessCached(
          s,
          requirements,
          begun,
          true,
          streamAnswer(s, request, requirements, options, begun),
          (hit): StreamAnswer => ({ meta: hit.meta, chunks: replay(hit.response) })
        ))
    )

  // Kept by the failed request's error object (`Attempt.ts` sets it): nothing to clean up, no cost on success.
  const failureMeta = (error: GatewayError) => s.failures.get(error)

  return Gateway.of({ complete, stream, failureMeta })
})

/** The live gateway; every subsystem service is provided by the caller (see `GatewayLive` in `@modelgate/node`). */
export const layer = Layer.scoped(Gateway, make)
