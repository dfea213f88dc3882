/**
 * The limiter's operations as synchronous steps on an in-process store
 * (`LimiterStore.applySync`): a whole reservation (key window, model window,
 * undo on refusal), a settle or release on both windows, peeks. Each runs
 * when called, so it is atomic; the effect it returns carries the outcome and
 * the signals to publish (`RateLimiter/Signals.ts`). A key window that refuses
 * a reservation is noted (`RateLimiter/RefusedKeys.ts`), so that `headroomAll`
 * reads that model's key windows until the refusal has passed.
 */
import { RateLimitExceeded } from "@modelgate/domain/Errors"
import type { ModelMetadata } from "@modelgate/domain/Model"
import { Effect } from "effect"
import type { GatewayConfigData } from "../GatewayConfigSchema.js"
import type { Headroom, HeadroomRequest, KeysOf, Reservation } from "../RateLimiter.js"
import type { RefusedKeys } from "./RefusedKeys.js"
import type * as SlidingWindow from "./SlidingWindow.js"

/** The limiter's part of the configuration. */
export type Settings = GatewayConfigData["rateLimits"]

/** One synchronous store step. */
export type Apply = (key: string, now: number, windowMs: number, op: SlidingWindow.Op) => SlidingWindow.Outcome

/** Publish and record the signals of one step. */
export type Emit = (
  model: string,
  keyId: string | undefined,
  at: number,
  windowMs: number,
  signals: ReadonlyArray<SlidingWindow.Signal>
) => Effect.Effect<void>

/** The store key of a model's window, or of a model and API key. */
export const storeKey = (model: string, keyId?: string): string => (keyId === undefined ? model : `${model}@${keyId}`)

/** A token count as the windows hold it: a non-negative integer. */
export const tokensOf = (n: number) => (Number.isFinite(n) ? Math.max(0, Math.ceil(n)) : 0)

/** The limits of a model: one key's (a key window's, or a keyless model's). */
export const limitsOf = (model: ModelMetadata): SlidingWindow.Limits => ({ rpm: model.rateLimits.rpm, tpm: model.rateLimits.tpm })

/**
 * How many keys a model's provider has to run it on (`ApiKeys.usableIds`'
 * count; 1 for a keyless provider, or none known): a plain function, read per
 * reservation and peek.
 */
export type KeyCount = (provider: string) => number

/** The `KeyCount` over `ApiKeys.usableIds`: a provider's usable keys, at least one (one each without it). */
export const keyCountOf = (usableIds: ((provider: string) => ReadonlyArray<string>) | undefined): KeyCount =>
  usableIds === undefined ? () => 1 : (provider) => Math.max(1, usableIds(provider).length)

/**
 * The limits of a model's own window: its `rateLimits` are one key's (each
 * key its own organization's limits, as the provider's headers report them
 * per key), so a provider with `keys` usable keys serves `keys` times them.
 */
export const modelLimitsOf = (model: ModelMetadata, keys: number): SlidingWindow.Limits =>
  keys <= 1 ? limitsOf(model) : { rpm: model.rateLimits.rpm * keys, tpm: model.rateLimits.tpm * keys }

/**
 * The Reserve ops of a reservation of `model` on its key's window (with
 * `keyId`: one key's limits) and its model's (its provider's `keys` usable
 * keys' limits, `modelLimitsOf`): the call's output reservation
 * (`outputTokens`) goes on the window its provider's headers are learned
 * for, the key's, else the model's.
 */
export const reserveOps = (
  id: string,
  tokens: number,
  model: ModelMetadata,
  keys: number,
  warnAt: number | undefined,
  keyId: string | undefined,
  outputTokens: number | undefined
): { readonly onKey: SlidingWindow.Op; readonly onModel: SlidingWindow.Op } => ({
  onKey: { _tag: "Reserve", id, tokens, limits: limitsOf(model), warnAt: undefined, output: outputTokens },
  onModel: { _tag: "Reserve", id, tokens, limits: modelLimitsOf(model, keys), warnAt, output: keyId === undefined ? outputTokens : undefined }
})

/** The peek of a request of `estimatedTokens` on a window of `limits`: `quiet` (reads only) on a dry run. */
export const peekOp = (limits: SlidingWindow.Limits, estimatedTokens: number, dryRun: boolean | undefined): SlidingWindow.Op =>
  dryRun === true
    ? { _tag: "Peek", tokens: tokensOf(estimatedTokens), limits, quiet: true }
    : { _tag: "Peek", tokens: tokensOf(estimatedTokens), limits }

/** The headroom answer from the peeks of the model's window (of `limits`) and the key's. */
export const headroomOf = (limits: SlidingWindow.Limits, onModel: SlidingWindow.Outcome, onKey: SlidingWindow.Outcome): Headroom => ({
  fits: onModel.ok && onKey.ok,
  retryAfterMs: Math.max(onModel.retryAfterMs, onKey.retryAfterMs),
  requestsUsed: onModel.requestsUsed,
  tokensUsed: onModel.tokensUsed,
  rpm: limits.rpm,
  tpm: limits.tpm
})

/**
 * The headroom of `model` when it may run on any of `keyIds`: its own window
 * (`onModel`, of `modelLimits`) and the first key window that has room for `op`, peeked in
 * order; when none has, the one with room soonest. Each peek's signals go to
 * `emitted`.
 */
const onAnyKey = (
  apply: Apply,
  now: number,
  windowMs: number,
  model: ModelMetadata,
  op: SlidingWindow.Op,
  modelLimits: SlidingWindow.Limits,
  onModel: SlidingWindow.Outcome,
  keyIds: ReadonlyArray<string>,
  emitted: Array<Emitted>
): Headroom => {
  let soonest: SlidingWindow.Outcome | undefined
  for (const keyId of keyIds) {
    const onKey = apply(storeKey(model.id, keyId), now, windowMs, op)
    if (onKey.signals.length > 0) emitted.push({ keyId, signals: onKey.signals })
    if (onKey.ok) return headroomOf(modelLimits, onModel, onKey)
    if (soonest === undefined || onKey.retryAfterMs < soonest.retryAfterMs) soonest = onKey
  }
  return headroomOf(modelLimits, onModel, soonest ?? onModel)
}

/** Signals of one key, to publish after a step. */
interface Emitted {
  readonly keyId: string | undefined
  readonly signals: ReadonlyArray<SlidingWindow.Signal>
}

/**
 * The synchronous steps over `apply`; `nextId` names each reservation; key
 * refusals are noted in `refusedKeys`; `keyCount` sizes each model's own
 * window (`modelLimitsOf`).
 */
export const makeSteps = (apply: Apply, emit: Emit, nextId: () => string, refusedKeys: RefusedKeys, keyCount: KeyCount) => {
  const emitAll = (model: string, now: number, windowMs: number, emitted: ReadonlyArray<Emitted>) =>
    Effect.forEach(emitted, (e) => emit(model, e.keyId, now, windowMs, e.signals), { discard: true })

  /** A whole reservation; `outputTokens`: the call's output reservation at the provider (`RateLimiter.reserve`). */
  const reserve = (
    { warningThreshold, windowMs }: Settings,
    now: number,
    model: ModelMetadata,
    estimatedTokens: number,
    keyId: string | undefined,
    outputTokens?: number
  ): Effect.Effect<Reservation, RateLimitExceeded> => {
    const tokens = tokensOf(estimatedTokens)
    const reservation: Reservation = { id: nextId(), model: model.id, keyId, tokens, at: now }
    const ops = reserveOps(reservation.id, tokens, model, keyCount(model.provider), warningThreshold, keyId, outputTokens)
    const emitted: Array<Emitted> = []
    let refused: RateLimitExceeded | undefined
    // Refusals are built with validation off (`, true`): the window's own typed outcome (retryAfterMs >= 0),
    // built per refused reservation; test/HotPathSchemas.test.ts checks them against the Schema.
    if (keyId !== undefined) {
      const onKey = apply(storeKey(model.id, keyId), now, windowMs, ops.onKey)
      if (onKey.signals.length > 0) emitted.push({ keyId, signals: onKey.signals })
      if (!onKey.ok) {
        refusedKeys.note(model.id, now + onKey.retryAfterMs)
        refused = new RateLimitExceeded({ model: model.id, dimension: onKey.dimension, retryAfterMs: onKey.retryAfterMs }, true)
      }
    }
    if (refused === undefined) {
      const onModel = apply(model.id, now, windowMs, ops.onModel)
      if (onModel.signals.length > 0) emitted.push({ keyId: undefined, signals: onModel.signals })
      if (!onModel.ok) {
        if (keyId !== undefined) apply(storeKey(model.id, keyId), now, windowMs, { _tag: "Release", id: reservation.id, at: now })
        refused = new RateLimitExceeded({ model: model.id, dimension: onModel.dimension, retryAfterMs: onModel.retryAfterMs }, true)
      }
    }
    const result: Effect.Effect<Reservation, RateLimitExceeded> = refused === undefined ? Effect.succeed(reservation) : Effect.fail(refused)
    return emitted.length === 0 ? result : Effect.zipRight(emitAll(model.id, now, windowMs, emitted), result)
  }

  /** Settle or release on the model and key windows. */
  const close = ({ windowMs }: Settings, now: number, reservation: Reservation, op: SlidingWindow.Op): Effect.Effect<void> => {
    const emitted: Array<Emitted> = []
    const onModel = apply(reservation.model, now, windowMs, op)
    if (onModel.signals.length > 0) emitted.push({ keyId: undefined, signals: onModel.signals })
    if (reservation.keyId !== undefined) {
      const onKey = apply(storeKey(reservation.model, reservation.keyId), now, windowMs, op)
      if (onKey.signals.length > 0) emitted.push({ keyId: reservation.keyId, signals: onKey.signals })
    }
    return emitted.length === 0 ? Effect.void : emitAll(reservation.model, now, windowMs, emitted)
  }

  /** Room on a model (and key) for a request of a size; `dryRun`: quiet peeks (nothing marked or signalled). */
  const headroom = (
    { windowMs }: Settings,
    now: number,
    model: ModelMetadata,
    estimatedTokens: number,
    keyId: string | undefined,
    dryRun?: boolean
  ): Effect.Effect<Headroom> => {
    const modelLimits = modelLimitsOf(model, keyCount(model.provider))
    const onModel = apply(model.id, now, windowMs, peekOp(modelLimits, estimatedTokens, dryRun))
    const onKey = keyId === undefined ? onModel : apply(storeKey(model.id, keyId), now, windowMs, peekOp(limitsOf(model), estimatedTokens, dryRun))
    const result = Effect.succeed(headroomOf(modelLimits, onModel, onKey))
    const emitted: Array<Emitted> = []
    if (onModel.signals.length > 0) emitted.push({ keyId: undefined, signals: onModel.signals })
    if (keyId !== undefined && onKey.signals.length > 0) emitted.push({ keyId, signals: onKey.signals })
    return emitted.length === 0 ? result : Effect.zipRight(emitAll(model.id, now, windowMs, emitted), result)
  }

  /**
   * Peeks on several models, in order; with `keysOf`, a model one of whose keys
   * was refused lately also needs one of its provider's keys with room.
   * `dryRun`: quiet peeks (nothing marked or signalled).
   */
  const headroomAll = (
    { windowMs }: Settings,
    now: number,
    requests: ReadonlyArray<HeadroomRequest>,
    keysOf?: KeysOf,
    dryRun?: boolean
  ): Effect.Effect<ReadonlyArray<Headroom>> => {
    const answers: Array<Headroom> = []
    const emitted: Array<Effect.Effect<void>> = []
    for (const { estimatedTokens, model } of requests) {
      const modelLimits = modelLimitsOf(model, keyCount(model.provider))
      const onModel = apply(model.id, now, windowMs, peekOp(modelLimits, estimatedTokens, dryRun))
      if (onModel.signals.length > 0) emitted.push(emit(model.id, undefined, now, windowMs, onModel.signals))
      const keyIds = keysOf !== undefined && refusedKeys.any(model.id, now) ? keysOf(model.provider) : undefined
      if (keyIds === undefined || keyIds.length === 0) {
        answers.push(headroomOf(modelLimits, onModel, onModel))
        continue
      }
      const onKeys: Array<Emitted> = []
      answers.push(onAnyKey(apply, now, windowMs, model, peekOp(limitsOf(model), estimatedTokens, dryRun), modelLimits, onModel, keyIds, onKeys))
      if (onKeys.length > 0) emitted.push(emitAll(model.id, now, windowMs, onKeys))
    }
    return emitted.length === 0 ? Effect.succeed(answers) : Effect.as(Effect.all(emitted, { discard: true }), answers)
  }

  return { reserve, close, headroom, headroomAll }
}
