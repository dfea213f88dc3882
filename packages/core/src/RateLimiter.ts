/**
 * RateLimiter: requests and tokens per minute per model (and per key), over a
 * true sliding window; reserve before a call, settle after it.
 *
 * Contract (implementation: routing issue).
 */
import type { RateLimitExceeded } from "@modelgate/domain/Errors"
import type { ModelMetadata } from "@modelgate/domain/Model"
import type { RateLimitInfo } from "@modelgate/domain/RateLimitInfo"
import { Context, type Effect } from "effect"

/** Capacity held for one in-flight call. */
export interface Reservation {
  readonly id: string
  readonly model: string
  readonly keyId: string | undefined
  readonly tokens: number
  readonly at: number
}

/** Room on a model for a request of a given size, without reserving it. */
export interface Headroom {
  readonly fits: boolean
  /** 0 when it fits; otherwise when a reservation of this size will fit. */
  readonly retryAfterMs: number
  readonly requestsUsed: number
  readonly tokensUsed: number
  readonly rpm: number
  readonly tpm: number
}

/** Sliding-window rate limiter. */
export class RateLimiter extends Context.Tag("@modelgate/core/RateLimiter")<
  RateLimiter,
  {
    readonly reserve: (model: ModelMetadata, estimatedTokens: number, keyId?: string) => Effect.Effect<Reservation, RateLimitExceeded>
    /** Replace the estimate by the actual token count (refund or charge the difference). */
    readonly settle: (reservation: Reservation, actualTokens: number) => Effect.Effect<void>
    /** The call failed before the provider counted it: give the capacity back. */
    readonly release: (reservation: Reservation) => Effect.Effect<void>
    /** Learn from the provider's rate-limit headers (0 remaining is believed until its reset). */
    readonly observe: (model: ModelMetadata, info: RateLimitInfo, keyId?: string) => Effect.Effect<void>
    readonly headroom: (model: ModelMetadata, estimatedTokens: number) => Effect.Effect<Headroom>
  }
>() {}
