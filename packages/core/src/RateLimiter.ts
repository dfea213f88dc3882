/**
 * RateLimiter: requests and tokens per minute per model (and per key), over a
 * true sliding window; reserve before a call, settle after it.
 *
 * Limits come from the model's `rateLimits` (registry metadata); the window
 * length and warning threshold from `GatewayConfig.rateLimits`, read on every
 * call. Each model has one window; a reservation that names a `keyId` must also
 * fit a second window of the same limits for that model and key, which is
 * where provider headers for that key (0 remaining) take effect. The
 * algorithm, its memory bound and its error bound (refusals at most one bucket,
 * 1 s of 60 s, early; never an over-admission) are in `RateLimiter/SlidingWindow.ts`.
 *
 * Events: a `RateLimitWarning` once per window per dimension when usage reaches
 * `warningThreshold` of a limit; `RateLimited` when a model first refuses (or
 * the provider reports 0 remaining); `WindowReset` on the first call or
 * headroom check after it has room again. Each is also offered to the
 * `RecordSink` as a `RateLimitEventRecord`. A failing store is logged and
 * treated as room (the provider's own 429s still stop traffic).
 *
 * Untraced (`reserve`, `settle`, `release`, `observe` and `headroom`: `Effect.fnUntraced` or plain functions, no span or
 * stack capture per call): on the request path, see bench/README.md. The
 * gateway keeps one span per request.
 */
import { RateLimitExceeded } from "@modelgate/domain/Errors"
import { RateLimitedEvent, RateLimitWarning, WindowReset } from "@modelgate/domain/Events"
import type { ModelMetadata } from "@modelgate/domain/Model"
import type { RateLimitInfo } from "@modelgate/domain/RateLimitInfo"
import { RateLimitEventRecord } from "@modelgate/domain/Records"
import { Clock, Context, Effect, Layer, Random, Ref } from "effect"
import { Events } from "./Events.js"
import { GatewayConfig } from "./GatewayConfig.js"
import { LimiterStore, layerMemory as limiterStoreMemory } from "./RateLimiter/LimiterStore.js"
import type * as SlidingWindow from "./RateLimiter/SlidingWindow.js"
import { RecordSink } from "./RecordSink.js"

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
    /** Hold room for one call of `estimatedTokens` on `model` (and `keyId`), or say when it will fit. */
    readonly reserve: (model: ModelMetadata, estimatedTokens: number, keyId?: string) => Effect.Effect<Reservation, RateLimitExceeded>
    /** Replace the estimate by the actual token count (refund or charge the difference). */
    readonly settle: (reservation: Reservation, actualTokens: number) => Effect.Effect<void>
    /** The call failed before the provider counted it: give the capacity back. */
    readonly release: (reservation: Reservation) => Effect.Effect<void>
    /** Learn from the provider's rate-limit headers (0 remaining is believed until its reset). */
    readonly observe: (model: ModelMetadata, info: RateLimitInfo, keyId?: string) => Effect.Effect<void>
    /** Whether a request of `estimatedTokens` fits now (on `keyId` too, when given); reserves nothing. */
    readonly headroom: (model: ModelMetadata, estimatedTokens: number, keyId?: string) => Effect.Effect<Headroom>
  }
>() {}

/** How long until a reservation of `estimatedTokens` fits on `model` (0: now); reserves nothing. */
export const timeUntilReset = (model: ModelMetadata, estimatedTokens: number, keyId?: string) =>
  Effect.flatMap(RateLimiter, (limiter) => Effect.map(limiter.headroom(model, estimatedTokens, keyId), (h) => h.retryAfterMs))

/** The store key of a model's window, or of a model and API key. */
export const storeKey = (model: string, keyId?: string): string => (keyId === undefined ? model : `${model}@${keyId}`)

const tokensOf = (n: number) => (Number.isFinite(n) ? Math.max(0, Math.ceil(n)) : 0)

/** Build the limiter on the `LimiterStore`, publishing to `Events` and recording to the `RecordSink`. */
export const make = Effect.gen(function* () {
  const config = yield* GatewayConfig
  const events = yield* Events
  const sink = yield* RecordSink
  const store = yield* LimiterStore
  const instance = (yield* Random.nextIntBetween(0, 2 ** 31)).toString(36)
  const counter = yield* Ref.make(0)

  const emit = (model: string, keyId: string | undefined, at: number, windowMs: number, signals: ReadonlyArray<SlidingWindow.Signal>) =>
    Effect.forEach(
      signals,
      (signal) => {
        const scope = keyId === undefined ? "" : ` (key ${keyId})`
        switch (signal._tag) {
          case "Warning":
            return Effect.zipRight(
              events.publish(new RateLimitWarning({ at, model, dimension: signal.dimension, used: signal.used, limit: signal.limit })),
              sink.offer(
                new RateLimitEventRecord({
                  at,
                  model,
                  kind: "warning",
                  dimension: signal.dimension,
                  detail: `${signal.used} of ${signal.limit} ${signal.dimension} used in the last ${windowMs} ms${scope}`
                })
              )
            )
          case "Limited":
            return Effect.zipRight(
              events.publish(new RateLimitedEvent({ at, model, dimension: signal.dimension, retryAfterMs: signal.retryAfterMs })),
              sink.offer(
                new RateLimitEventRecord({
                  at,
                  model,
                  kind: "limited",
                  dimension: signal.dimension,
                  detail: `${signal.dimension} limit reached${scope}; room again in ${signal.retryAfterMs} ms`
                })
              )
            )
          case "Reset":
            return Effect.zipRight(
              events.publish(new WindowReset({ at, model })),
              sink.offer(new RateLimitEventRecord({ at, model, kind: "reset", detail: `room again${scope}` }))
            )
        }
      },
      { discard: true }
    )

  /** Apply one op on a store key; a store failure reads as "fits" and is logged. */
  const apply = (model: string, keyId: string | undefined, now: number, windowMs: number, op: SlidingWindow.Op) =>
    store.apply(storeKey(model, keyId), now, windowMs, op).pipe(
      Effect.tap((outcome) => emit(model, keyId, now, windowMs, outcome.signals)),
      Effect.catchAll((error) =>
        Effect.as(Effect.logWarning("rate limiter store failed; treating as room", error.message), {
          ok: true,
          dimension: "requests" as const,
          retryAfterMs: 0,
          requestsUsed: 0,
          tokensUsed: 0,
          signals: []
        } satisfies SlidingWindow.Outcome)
      )
    )

  const settings = Effect.map(config.get, (c) => c.rateLimits)
  const limitsOf = (model: ModelMetadata): SlidingWindow.Limits => ({ rpm: model.rateLimits.rpm, tpm: model.rateLimits.tpm })

  const reserve = Effect.fnUntraced(function* (model: ModelMetadata, estimatedTokens: number, keyId?: string) {
    const { warningThreshold, windowMs } = yield* settings
    const now = yield* Clock.currentTimeMillis
    const n = yield* Ref.updateAndGet(counter, (i) => i + 1)
    const tokens = tokensOf(estimatedTokens)
    const reservation: Reservation = { id: `${instance}-${n.toString(36)}`, model: model.id, keyId, tokens, at: now }
    const limits = limitsOf(model)
    if (keyId !== undefined) {
      const onKey = yield* apply(model.id, keyId, now, windowMs, { _tag: "Reserve", id: reservation.id, tokens, limits, warnAt: undefined })
      if (!onKey.ok) {
        return yield* new RateLimitExceeded({ model: model.id, dimension: onKey.dimension, retryAfterMs: onKey.retryAfterMs })
      }
    }
    const onModel = yield* apply(model.id, undefined, now, windowMs, { _tag: "Reserve", id: reservation.id, tokens, limits, warnAt: warningThreshold })
    if (!onModel.ok) {
      if (keyId !== undefined) yield* apply(model.id, keyId, now, windowMs, { _tag: "Release", id: reservation.id, at: now })
      return yield* new RateLimitExceeded({ model: model.id, dimension: onModel.dimension, retryAfterMs: onModel.retryAfterMs })
    }
    return reservation
  })

  const close = (reservation: Reservation, op: SlidingWindow.Op) =>
    Effect.gen(function* () {
      const { windowMs } = yield* settings
      const now = yield* Clock.currentTimeMillis
      yield* apply(reservation.model, undefined, now, windowMs, op)
      if (reservation.keyId !== undefined) yield* apply(reservation.model, reservation.keyId, now, windowMs, op)
    })

  const settle = Effect.fnUntraced(function* (reservation: Reservation, actualTokens: number) {
    yield* close(reservation, { _tag: "Settle", id: reservation.id, at: reservation.at, tokens: tokensOf(actualTokens) })
  })

  const release = Effect.fnUntraced(function* (reservation: Reservation) {
    yield* close(reservation, { _tag: "Release", id: reservation.id, at: reservation.at })
  })

  const observe = Effect.fnUntraced(function* (model: ModelMetadata, info: RateLimitInfo, keyId?: string) {
    const { windowMs } = yield* settings
    const now = yield* Clock.currentTimeMillis
    const waits: Array<number> = []
    if (info.remainingRequests === 0) waits.push(info.resetRequestsMs ?? windowMs)
    if (info.remainingTokens === 0) waits.push(info.resetTokensMs ?? windowMs)
    if (waits.length === 0) return
    const until = now + Math.max(...waits)
    yield* apply(model.id, keyId, now, windowMs, { _tag: "Block", until })
  })

  const headroom = Effect.fnUntraced(function* (model: ModelMetadata, estimatedTokens: number, keyId?: string) {
    const { windowMs } = yield* settings
    const now = yield* Clock.currentTimeMillis
    const op: SlidingWindow.Op = { _tag: "Peek", tokens: tokensOf(estimatedTokens), limits: limitsOf(model) }
    const onModel = yield* apply(model.id, undefined, now, windowMs, op)
    const onKey = keyId === undefined ? onModel : yield* apply(model.id, keyId, now, windowMs, op)
    const retryAfterMs = Math.max(onModel.retryAfterMs, onKey.retryAfterMs)
    return {
      fits: onModel.ok && onKey.ok,
      retryAfterMs,
      requestsUsed: onModel.requestsUsed,
      tokensUsed: onModel.tokensUsed,
      rpm: model.rateLimits.rpm,
      tpm: model.rateLimits.tpm
    } satisfies Headroom
  })

  return RateLimiter.of({ reserve, settle, release, observe, headroom })
})

/** The limiter; needs `GatewayConfig`, `Events`, `RecordSink` and a `LimiterStore`. */
export const layer: Layer.Layer<RateLimiter, never, GatewayConfig | Events | RecordSink | LimiterStore> = Layer.effect(RateLimiter, make)

/** The limiter on the in-memory store; needs `GatewayConfig`, `Events` and `RecordSink`. */
export const layerMemory: Layer.Layer<RateLimiter, never, GatewayConfig | Events | RecordSink> = layer.pipe(
  Layer.provide(limiterStoreMemory)
)
