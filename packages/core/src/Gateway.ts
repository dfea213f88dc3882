/**
 * Gateway: the request path of DESIGN.md, the one service an app needs.
 *
 * Contract here; the implementation (`make`, `layer`) composes the subsystem
 * services.
 */
import type { ChatChunk, ChatRequest, ChatResponse } from "@modelgate/domain/Chat"
import type {
  AllCandidatesFailed,
  BudgetExceeded,
  MissingApiKey,
  ModelNotFound,
  ModelUnavailable,
  NoEligibleModel,
  QueueTimeout,
  RateLimitExceeded
} from "@modelgate/domain/Errors"
import type { ProviderError } from "@modelgate/domain/ProviderError"
import type { TaskRequirements } from "@modelgate/domain/Requirements"
import { Context, type Effect, type Stream } from "effect"

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
