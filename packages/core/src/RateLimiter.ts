/**
 * RateLimiter: requests and tokens per minute per model (and per key), over a
 * true sliding window; reserve before a call, settle after it.
 *
 * Limits come from the model's `rateLimits` (registry metadata); the window
 * length and warning threshold from `GatewayConfig.rateLimits`, read on every
 * call (a reload that changes the window length carries each window's counts
 * over to the new length: `RateLimiter/Rebucket.ts`). A model's `rateLimits`
 * are one API key's (a provider limits each key's organization on its own):
 * each model has one window, of its provider's usable keys' worth of them
 * (three keys: three times its `rpm` and `tpm`; a keyless provider's, or
 * without `ApiKeys`: once); a reservation that names a `keyId` must also
 * fit a second window of the model's limits for that model and key, which is
 * where provider headers for that key take effect: 0 remaining blocks it
 * until the reset; a count under `lowRemainingShare` of the limit is the
 * most admitted on it before the reset, less the calls then in flight. When the
 * selector asks, a model also needs one of its provider's keys with room
 * (`headroomAll`'s `keysOf`): a model whose provider refuses every key is
 * rate limited until the first key has room again. The
 * algorithm, its memory bound and its error bound (refusals at most one bucket,
 * 1 s of 60 s, early; never an over-admission) are in `RateLimiter/SlidingWindow.ts`.
 * A provider's separate output-token limit (Anthropic's OTPM, which charges
 * each call's `max_tokens` up front) is followed on the window its headers
 * came for (the key's) from the first answer that names it: each reservation's
 * `outputTokens` is held against what is left of it until its reset, calls in
 * flight counted, and settled to the output written (`RateLimiter/OutputLimit.ts`).
 *
 * Events: a `RateLimitWarning` once per window per dimension when usage reaches
 * `warningThreshold` of a limit; `RateLimited` when a model first refuses (or
 * the provider reports 0 remaining, or refuses the last usable key of the
 * model's provider); `WindowReset` on the first call or headroom check after
 * it has room again (a dry run's check, `headroomAll`'s `dryRun`, announces
 * and marks nothing). Those of a key window name the key. Each is also
 * offered to the `RecordSink` as a `RateLimitEventRecord`. A failing store is logged and
 * treated as room (the provider's own 429s still stop traffic).
 *
 * Windows are the provider's limits: a reload never resets them. A model the
 * registry removes (with `ModelRegistry` in the context) keeps its windows
 * (its own and its keys') until they hold nothing any more (the window has
 * passed, no provider block runs), then they are dropped: the same id added
 * again within the window is still limited by what it used before, and one
 * added later starts empty. Only an in-process store is swept this way
 * (`LimiterStore.sweep`); a shared store's keys expire on their own.
 *
 * Several gateway instances on one database each keep their windows in
 * memory and share their counts through a `LimiterUsageStore`, every
 * `rateLimits.syncIntervalMs` (`RateLimiter/Sync.ts`): a window counts what
 * every instance admitted, up to one sync interval late, and a provider's
 * block one instance learned holds on every instance.
 *
 * Untraced (`reserve`, `settle`, `release`, `observe` and `headroom`: `Effect.fnUntraced` or plain functions, no span or
 * stack capture per call): on the request path, see bench/README.md. The
 * gateway keeps one span per request.
 */
import { RateLimitExceeded } from "@modelgate/domain/Errors"
import type { ModelMetadata } from "@modelgate/domain/Model"
import type { RateLimitInfo } from "@modelgate/domain/RateLimitInfo"
import { Clock, Context, Duration, Effect, FiberHandle, Layer, Option, Random, Stream } from "effect"
import { ApiKeys } from "./ApiKeys.js"
import { Events } from "./Events.js"
import { GatewayConfig } from "./GatewayConfig.js"
import type { GatewayConfigData } from "./GatewayConfigSchema.js"
import { InstanceId } from "./InstanceId.js"
import { followRemovals } from "./internal/followRemovals.js"
import { LimiterUsageStore } from "./LimiterUsageStore.js"
import { ModelRegistry } from "./ModelRegistry.js"
import { LimiterStore, layerMemory as limiterStoreMemory } from "./RateLimiter/LimiterStore.js"
import { blockModelWhenEveryKeyRefused } from "./RateLimiter/EveryKeyRefused.js"
import * as RefusedKeys from "./RateLimiter/RefusedKeys.js"
import * as SharedNames from "./RateLimiter/SharedNames.js"
import * as Signals from "./RateLimiter/Signals.js"
import * as Steps from "./RateLimiter/Steps.js"
import * as Sync from "./RateLimiter/Sync.js"
import { headroomOf, limitsOf, modelLimitsOf, storeKey, tokensOf } from "./RateLimiter/Steps.js"
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

/** One model of a `headroomAll` batch and the size of the request. */
export interface HeadroomRequest {
  readonly model: ModelMetadata
  readonly estimatedTokens: number
}

/**
 * The ids of a provider's usable keys (`ApiKeys.usableIds`): a plain function,
 * asked only for a model one of whose keys was refused lately.
 */
export type KeysOf = (provider: string) => ReadonlyArray<string>

/** Sliding-window rate limiter. */
export class RateLimiter extends Context.Tag("@modelgate/core/RateLimiter")<
  RateLimiter,
  {
    /**
     * Hold room for one call of `estimatedTokens` on `model` (and `keyId`), or
     * say when it will fit. `outputTokens`: what the provider charges the call
     * against its output limit when it starts (Anthropic: the `max_tokens`
     * sent), held against that limit once the key's headers named it.
     */
    readonly reserve: (
      model: ModelMetadata,
      estimatedTokens: number,
      keyId?: string,
      outputTokens?: number
    ) => Effect.Effect<Reservation, RateLimitExceeded>
    /**
     * Replace the estimate by the actual token count (refund or charge the
     * difference); `retried` more requests (the adapter's retries the provider
     * answered, each counted by it) are added to the reservation's requests;
     * `outputTokens`, the output written, settles the call's output reservation
     * (absent: it stays held until the output limit's reset).
     */
    readonly settle: (reservation: Reservation, actualTokens: number, retried?: number, outputTokens?: number) => Effect.Effect<void>
    /** The call failed before the provider counted it: give the capacity back. */
    readonly release: (reservation: Reservation) => Effect.Effect<void>
    /**
     * Learn from the provider's rate-limit headers (0 remaining is believed
     * until its reset; so is a count under `lowRemainingShare` of the limit:
     * no more than it, less the calls then open, is admitted before its
     * reset). With `keyId` and `keysOf`, a refusal that leaves the
     * provider blocking every usable key of the model blocks the model too,
     * until its first key frees (`RateLimiter/EveryKeyRefused.ts`): it is then
     * announced rate limited like a model whose window is full. Nothing is
     * read unless the provider reports 0 or little remaining, or an output
     * limit (`limitOutputTokens` and `remainingOutputTokens`: always learned).
     * `answered`: the call whose answer brought the headers while it is still
     * open (a stream, as it opens): the provider's output count already holds
     * its output reservation, so it is not taken off what is left a second time.
     */
    readonly observe: (model: ModelMetadata, info: RateLimitInfo, keyId?: string, keysOf?: KeysOf, answered?: Reservation) => Effect.Effect<void>
    /**
     * Whether a request of `estimatedTokens` fits now (on `keyId` too, when
     * given); reserves nothing. With `dryRun` (the admin dry run) it only
     * reads: no event, and nothing marked that changes what a later call
     * announces.
     */
    readonly headroom: (model: ModelMetadata, estimatedTokens: number, keyId?: string, dryRun?: boolean) => Effect.Effect<Headroom>
    /**
     * `headroom` of several models at one instant, in order: the same
     * answers and events as one call per model, with one config and clock read
     * (the selector asks it once per ranking). With `keysOf`, a model also needs
     * one of its provider's keys with room: while every key of it refuses (a
     * provider's block, a full key window) it does not fit, and `retryAfterMs`
     * is when the first key has room again. Key windows are read only for a
     * model one of whose keys was refused lately (and not since passed): in the
     * usual case the answers are the model windows' alone, at no extra cost.
     * With `dryRun`, it only reads, as `headroom`'s.
     * Optional: callers fall back to `headroom` (the model windows alone).
     */
    readonly headroomAll?: (
      requests: ReadonlyArray<HeadroomRequest>,
      keysOf?: KeysOf,
      dryRun?: boolean
    ) => Effect.Effect<ReadonlyArray<Headroom>>
    /**
     * `reserve`, `settle`, `release` and `headroomAll` at `now` under `config`:
     * the caller's own reads of the clock and of `GatewayConfig` (once per
     * request), not read again. On an in-process store the step runs when the
     * member is CALLED, and the returned effect only carries its outcome and
     * any events to publish: call it where it is run, once. On a remote store
     * they are the plain methods. Optional: callers fall back to those.
     * The window length and warning threshold are the running configuration's
     * (followed across reloads), not `config`'s: a request begun before a
     * reload must not move the window back.
     */
    readonly reserveAt?: (
      config: GatewayConfigData,
      now: number,
      model: ModelMetadata,
      estimatedTokens: number,
      keyId?: string,
      outputTokens?: number
    ) => Effect.Effect<Reservation, RateLimitExceeded>
    readonly settleAt?: (
      config: GatewayConfigData,
      now: number,
      reservation: Reservation,
      actualTokens: number,
      retried?: number,
      outputTokens?: number
    ) => Effect.Effect<void>
    readonly releaseAt?: (config: GatewayConfigData, now: number, reservation: Reservation) => Effect.Effect<void>
    readonly headroomAllAt?: (
      config: GatewayConfigData,
      now: number,
      requests: ReadonlyArray<HeadroomRequest>,
      keysOf?: KeysOf,
      dryRun?: boolean
    ) => Effect.Effect<ReadonlyArray<Headroom>>
  }
>() {}

/**
 * A provider's count of what is left is believed (`SlidingWindow`'s
 * `Remaining`) once it is under this share of its limit (the provider's, else
 * the model's): above it, the window's own limits hold it (no step per answer).
 */
export const lowRemainingShare = 0.1

const isLow = (remaining: number | undefined, limit: number) =>
  remaining !== undefined && remaining > 0 && remaining < limit * lowRemainingShare

/** How long until a reservation of `estimatedTokens` fits on `model` (0: now); reserves nothing. */
export const timeUntilReset = (model: ModelMetadata, estimatedTokens: number, keyId?: string) =>
  Effect.flatMap(RateLimiter, (limiter) => Effect.map(limiter.headroom(model, estimatedTokens, keyId), (h) => h.retryAfterMs))

export { storeKey } from "./RateLimiter/Steps.js"

/** `make`, with the default interval of the window sync (`RateLimiter/Sync.ts`). */
export const makeWith = (options: {
  /** How often to share window counts when `rateLimits.syncIntervalMs` is unset (none: no sync then). */
  readonly defaultSyncIntervalMs?: number | undefined
}) => Effect.gen(function* () {
  const config = yield* GatewayConfig
  const events = yield* Events
  const sink = yield* RecordSink
  const store = yield* LimiterStore
  const instance = (yield* Random.nextIntBetween(0, 2 ** 31)).toString(36)
  // A plain counter, bumped inside the step that uses it (no Ref step per reservation).
  let counter = 0
  // Models with a key refused lately: only their key windows are read by `headroomAll`.
  const refusedKeys = RefusedKeys.make()

  // Each key's fingerprint, named beside its position in a key window's signals (`ApiKeys.sharedIds`).
  const apiKeys = Option.getOrUndefined(yield* Effect.serviceOption(ApiKeys))
  const sharedIds = apiKeys?.sharedIds
  // Each key its own limits: a model's own window holds its provider's usable keys' worth (`Steps.modelLimitsOf`).
  const usableIds = apiKeys?.usableIds
  const keyCount = Steps.keyCountOf(usableIds)
  const emit = Signals.emitter(events, sink, sharedIds)

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
  // The running settings, followed across reloads in the layer's scope, for the `…At` members.
  let running: Steps.Settings = (yield* config.get).rateLimits
  yield* config.changes.pipe(Stream.runForEach((c) => Effect.sync(() => void (running = c.rateLimits))), Effect.forkScoped)

  // With an in-process store (`applySync`), each method is one synchronous step after reading the
  // config and the clock: the whole reservation (key window, model window, undo on refusal) is
  // atomic and costs a few Effect ops; events, when a step signals any, are published after it.
  // A remote store goes through `apply`, one effect per key, as before.
  const applySync = store.applySync

  /** Run `f` with the limiter settings and the time, synchronously. */
  const withNow = <A, E>(f: (settings: Steps.Settings, now: number) => Effect.Effect<A, E>) =>
    Effect.flatMap(config.get, (c) => Effect.clockWith((clock) => f(c.rateLimits, clock.unsafeCurrentTimeMillis())))

  // After a change of the registry: the windows of models it no longer has, dropped once they hold nothing.
  const sweeper = yield* FiberHandle.make()
  yield* followRemovals(yield* Effect.serviceOption(ModelRegistry), (present) =>
    Effect.asVoid(FiberHandle.run(sweeper, sweepRemoved(store, refusedKeys, present))))

  const nextId = () => `${instance}-${(++counter).toString(36)}`
  const steps = applySync === undefined ? undefined : Steps.makeSteps(applySync, emit, nextId, refusedKeys, keyCount)

  const reserveEffect = Effect.fnUntraced(function* (model: ModelMetadata, estimatedTokens: number, keyId?: string, outputTokens?: number) {
    const { warningThreshold, windowMs } = yield* settings
    const now = yield* Clock.currentTimeMillis
    const tokens = tokensOf(estimatedTokens)
    const reservation: Reservation = { id: nextId(), model: model.id, keyId, tokens, at: now }
    const ops = Steps.reserveOps(reservation.id, tokens, model, keyCount(model.provider), warningThreshold, keyId, outputTokens)
    if (keyId !== undefined) {
      const onKey = yield* apply(model.id, keyId, now, windowMs, ops.onKey)
      if (!onKey.ok) {
        refusedKeys.note(model.id, now + onKey.retryAfterMs)
        // Validation off (`, true`): the window's own typed outcome, as in Steps.ts.
        return yield* new RateLimitExceeded({ model: model.id, dimension: onKey.dimension, retryAfterMs: onKey.retryAfterMs }, true)
      }
    }
    const onModel = yield* apply(model.id, undefined, now, windowMs, ops.onModel)
    if (!onModel.ok) {
      if (keyId !== undefined) yield* apply(model.id, keyId, now, windowMs, { _tag: "Release", id: reservation.id, at: now })
      return yield* new RateLimitExceeded({ model: model.id, dimension: onModel.dimension, retryAfterMs: onModel.retryAfterMs }, true)
    }
    return reservation
  })

  const reserve = steps === undefined
    ? reserveEffect
    : (model: ModelMetadata, estimatedTokens: number, keyId?: string, outputTokens?: number) =>
      withNow((settings, now) => steps.reserve(settings, now, model, estimatedTokens, keyId, outputTokens))

  const close = (reservation: Reservation, op: SlidingWindow.Op): Effect.Effect<void> =>
    steps === undefined
      ? Effect.gen(function* () {
        const { windowMs } = yield* settings
        const now = yield* Clock.currentTimeMillis
        yield* apply(reservation.model, undefined, now, windowMs, op)
        if (reservation.keyId !== undefined) yield* apply(reservation.model, reservation.keyId, now, windowMs, op)
      })
      : withNow((settings, now) => steps.close(settings, now, reservation, op))

  const settleOp = (reservation: Reservation, actualTokens: number, retried?: number, outputTokens?: number): SlidingWindow.Op => {
    const op: SlidingWindow.Op = retried === undefined || retried <= 0
      ? { _tag: "Settle", id: reservation.id, at: reservation.at, tokens: tokensOf(actualTokens) }
      : { _tag: "Settle", id: reservation.id, at: reservation.at, tokens: tokensOf(actualTokens), retried: Math.ceil(retried) }
    return outputTokens === undefined ? op : { ...op, output: tokensOf(outputTokens) }
  }
  const releaseOp = (reservation: Reservation): SlidingWindow.Op => ({ _tag: "Release", id: reservation.id, at: reservation.at })

  const settle = (reservation: Reservation, actualTokens: number, retried?: number, outputTokens?: number) =>
    close(reservation, settleOp(reservation, actualTokens, retried, outputTokens))

  const release = (reservation: Reservation) => close(reservation, releaseOp(reservation))

  const observe = (model: ModelMetadata, info: RateLimitInfo, keyId?: string, keysOf?: KeysOf, answered?: Reservation): Effect.Effect<void> => {
    const lowRequests = isLow(info.remainingRequests, info.limitRequests ?? model.rateLimits.rpm)
    const lowTokens = isLow(info.remainingTokens, info.limitTokens ?? model.rateLimits.tpm)
    const output = info.limitOutputTokens !== undefined && info.remainingOutputTokens !== undefined
    // Nothing to learn unless the provider reports little or 0 remaining, or an output limit (the usual answer: no step at all).
    return info.remainingRequests !== 0 && info.remainingTokens !== 0 && !lowRequests && !lowTokens && !output
      ? Effect.void
      : Effect.gen(function* () {
        const { windowMs } = yield* settings
        const now = yield* Clock.currentTimeMillis
        if (output) {
          yield* apply(model.id, keyId, now, windowMs, {
            _tag: "Output",
            limit: info.limitOutputTokens!,
            remaining: info.remainingOutputTokens!,
            until: now + (info.resetOutputTokensMs ?? 0),
            counted: answered?.id
          })
        }
        if (lowRequests || lowTokens) {
          const requestsUntil = lowRequests ? now + (info.resetRequestsMs ?? windowMs) : 0
          const tokensUntil = lowTokens ? now + (info.resetTokensMs ?? windowMs) : 0
          // A key whose count runs out is refused: `headroomAll` reads the model's key windows meanwhile.
          if (keyId !== undefined) refusedKeys.note(model.id, Math.max(requestsUntil, tokensUntil))
          yield* apply(model.id, keyId, now, windowMs, {
            _tag: "Remaining",
            requests: lowRequests ? info.remainingRequests : undefined,
            requestsUntil,
            tokens: lowTokens ? info.remainingTokens : undefined,
            tokensUntil
          })
        }
        if (info.remainingRequests !== 0 && info.remainingTokens !== 0) return
        const waits: Array<number> = []
        if (info.remainingRequests === 0) waits.push(info.resetRequestsMs ?? windowMs)
        if (info.remainingTokens === 0) waits.push(info.resetTokensMs ?? windowMs)
        const until = now + Math.max(...waits)
        if (keyId !== undefined) refusedKeys.note(model.id, until)
        yield* apply(model.id, keyId, now, windowMs, { _tag: "Block", until })
        if (keyId !== undefined && keysOf !== undefined) {
          yield* blockModelWhenEveryKeyRefused(apply, model, now, windowMs, keysOf(model.provider))
        }
      })
  }

  const headroom = (model: ModelMetadata, estimatedTokens: number, keyId?: string, dryRun?: boolean): Effect.Effect<Headroom> => {
    if (steps !== undefined) return withNow((settings, now) => steps.headroom(settings, now, model, estimatedTokens, keyId, dryRun))
    const modelLimits = modelLimitsOf(model, keyCount(model.provider))
    return Effect.gen(function* () {
      const { windowMs } = yield* settings
      const now = yield* Clock.currentTimeMillis
      const onModel = yield* apply(model.id, undefined, now, windowMs, Steps.peekOp(modelLimits, estimatedTokens, dryRun))
      const onKey = keyId === undefined ? onModel : yield* apply(model.id, keyId, now, windowMs, Steps.peekOp(limitsOf(model), estimatedTokens, dryRun))
      return headroomOf(modelLimits, onModel, onKey)
    })
  }

  type Requests = ReadonlyArray<HeadroomRequest>

  /** On a remote store: the model's headroom with its first key that has room (or the one with room soonest). */
  const onAnyKey = (model: ModelMetadata, estimatedTokens: number, keyIds: ReadonlyArray<string>, dryRun: boolean | undefined) =>
    Effect.gen(function* () {
      let soonest: Headroom | undefined
      for (const keyId of keyIds) {
        const room = yield* headroom(model, estimatedTokens, keyId, dryRun)
        if (room.fits) return room
        if (soonest === undefined || room.retryAfterMs < soonest.retryAfterMs) soonest = room
      }
      return soonest ?? (yield* headroom(model, estimatedTokens, undefined, dryRun))
    })

  const headroomAll = (requests: Requests, keysOf?: KeysOf, dryRun?: boolean): Effect.Effect<ReadonlyArray<Headroom>> =>
    steps !== undefined
      ? withNow((settings, now) => steps.headroomAll(settings, now, requests, keysOf, dryRun))
      : keysOf === undefined
      ? Effect.forEach(requests, (r) => headroom(r.model, r.estimatedTokens, undefined, dryRun))
      : Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.forEach(requests, ({ estimatedTokens, model }) => {
          const keyIds = refusedKeys.any(model.id, now) ? keysOf(model.provider) : []
          return keyIds.length === 0 ? headroom(model, estimatedTokens, undefined, dryRun) : onAnyKey(model, estimatedTokens, keyIds, dryRun)
        }))

  // The `…At` members: the same steps at the caller's time, on the running settings (see the interface).
  const at = steps === undefined
    ? {
      reserveAt: (_c: GatewayConfigData, _now: number, model: ModelMetadata, estimatedTokens: number, keyId?: string, outputTokens?: number) =>
        reserve(model, estimatedTokens, keyId, outputTokens),
      settleAt: (_c: GatewayConfigData, _now: number, reservation: Reservation, actualTokens: number, retried?: number, outputTokens?: number) =>
        settle(reservation, actualTokens, retried, outputTokens),
      releaseAt: (_c: GatewayConfigData, _now: number, reservation: Reservation) => release(reservation),
      headroomAllAt: (_c: GatewayConfigData, _now: number, requests: Requests, keysOf?: KeysOf, dryRun?: boolean) =>
        headroomAll(requests, keysOf, dryRun)
    }
    : {
      reserveAt: (_c: GatewayConfigData, now: number, model: ModelMetadata, estimatedTokens: number, keyId?: string, outputTokens?: number) =>
        steps.reserve(running, now, model, estimatedTokens, keyId, outputTokens),
      settleAt: (_c: GatewayConfigData, now: number, reservation: Reservation, actualTokens: number, retried?: number, outputTokens?: number) =>
        steps.close(running, now, reservation, settleOp(reservation, actualTokens, retried, outputTokens)),
      releaseAt: (_c: GatewayConfigData, now: number, reservation: Reservation) => steps.close(running, now, reservation, releaseOp(reservation)),
      headroomAllAt: (_c: GatewayConfigData, now: number, requests: Requests, keysOf?: KeysOf, dryRun?: boolean) =>
        steps.headroomAll(running, now, requests, keysOf, dryRun)
    }

  // With a `LimiterUsageStore` (several instances on one database): share the window counts.
  const usage = yield* Effect.serviceOption(LimiterUsageStore)
  if (Option.isSome(usage)) {
    const sync = Sync.make({
      store,
      usage: usage.value,
      instance: yield* InstanceId,
      gatewayConfig: config,
      defaultSyncIntervalMs: options.defaultSyncIntervalMs,
      // Key windows by the key's fingerprint, not its position (which differs between instances while keys rotate).
      names: sharedIds === undefined ? undefined : SharedNames.make(sharedIds),
      // A key window's block: `headroomAll` reads that model's key windows while it runs.
      onSharedBlock: (key, until) => {
        const at = key.lastIndexOf("@")
        if (at > 0) refusedKeys.note(key.slice(0, at), until)
      }
    })
    // Added before the sync's fiber, so run after it is interrupted: no sync marks the instance running again.
    yield* Effect.addFinalizer(() => sync.leave)
    yield* Effect.forkScoped(sync.run)
  }

  return RateLimiter.of({ reserve, settle, release, observe, headroom, headroomAll, ...at })
})

/**
 * Build the limiter on the `LimiterStore`, publishing to `Events` and
 * recording to the `RecordSink`; it follows the configuration's changes, the
 * registry's removals when the context has a `ModelRegistry`, and shares its
 * windows with other instances every `rateLimits.syncIntervalMs` when it has a
 * `LimiterUsageStore` (`RateLimiter/Sync.ts`), in fibers of the current scope.
 */
export const make = makeWith({})

/**
 * Drop the store's windows of models not in `present` as each comes to hold
 * nothing, waiting meanwhile (on `Clock`) for the next one to; ends when none
 * is left. A key `model@keyId` belongs to `model`.
 */
const sweepRemoved = (store: LimiterStore["Type"], refusedKeys: RefusedKeys.RefusedKeys, present: ReadonlySet<string>): Effect.Effect<void> => {
  const sweep = store.sweep
  if (sweep === undefined) return Effect.void
  const removed = (key: string) => {
    const at = key.lastIndexOf("@")
    return !present.has(key) && (at < 0 || !present.has(key.slice(0, at)))
  }
  const loop: Effect.Effect<void> = Effect.flatMap(Clock.currentTimeMillis, (now) => {
    refusedKeys.sweep(removed, now)
    const next = sweep(removed, now)
    return next === undefined ? Effect.void : Effect.zipRight(Effect.sleep(Duration.millis(next - now)), loop)
  })
  return loop
}

/** The limiter; needs `GatewayConfig`, `Events`, `RecordSink` and a `LimiterStore` (and follows a `ModelRegistry` when present). */
export const layer: Layer.Layer<RateLimiter, never, GatewayConfig | Events | RecordSink | LimiterStore> = Layer.scoped(RateLimiter, make)

/**
 * `layer`, sharing its windows every `defaultSyncIntervalMs` when the
 * configuration names no `rateLimits.syncIntervalMs` and the context has a
 * `LimiterUsageStore` (GatewayLive: 1 s on PostgreSQL).
 */
export const layerWith = (options: {
  readonly defaultSyncIntervalMs?: number | undefined
}): Layer.Layer<RateLimiter, never, GatewayConfig | Events | RecordSink | LimiterStore> =>
  Layer.scoped(RateLimiter, makeWith(options))

/** The limiter on the in-memory store; needs `GatewayConfig`, `Events` and `RecordSink`. */
export const layerMemory: Layer.Layer<RateLimiter, never, GatewayConfig | Events | RecordSink> = layer.pipe(
  Layer.provide(limiterStoreMemory)
)
