/**
 * The permits a call holds while in flight: its provider's
 * (`providers.<name>.maxConcurrency`) and, for a model with
 * `rateLimits.concurrency`, its model's. A call takes the model's permit
 * first, so a call waiting on its model's cap never holds a provider slot
 * that another model's call could use.
 */
import { Effect } from "effect"
import { type Limiter, makeLimiter } from "./limiter.js"

/**
 * The limiter sized from `maxConcurrency`, resized in place when a reload
 * changes it: the calls in flight and waiting count against the new size
 * (a lowered cap lets no new call start until they are under it; a raised one
 * lets the waiting calls go at once). Plain JS: read on every call.
 */
export const providerLimiters = () => {
  let current: Limiter | undefined
  return (permits: number): Limiter => {
    if (current === undefined) current = makeLimiter(permits)
    else if (current.permits !== permits) current.resize(permits)
    return current
  }
}

/**
 * The limiter of each capped model, by model id, resized in place when its
 * cap changes (as `providerLimiters`). A limiter leaves the map once no call holds or waits for its
 * permits, so the map holds only models with calls in flight (a removed
 * model's entry goes with its last call). Read only for capped models.
 */
export const modelLimiters = () => {
  const byModel = new Map<string, Limiter>()
  return (model: string, permits: number): Limiter => {
    const current = byModel.get(model)
    if (current !== undefined) {
      if (current.permits !== permits) current.resize(permits)
      return current
    }
    const limiter: Limiter = makeLimiter(permits, () => {
      if (byModel.get(model) === limiter) byModel.delete(model)
    })
    byModel.set(model, limiter)
    return limiter
  }
}

/**
 * Take `model`'s permit (when there is one), then `provider`'s: `undefined`
 * when both were free (taken now), else an effect that waits for them in
 * turn, FIFO on each. Only the waits run interruptible (`restore`); an
 * interrupted wait leaves neither permit held.
 */
export const takePermits = (
  provider: Limiter,
  model: Limiter | undefined,
  restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
): Effect.Effect<void> | undefined => {
  if (model === undefined) {
    const wait = provider.tryTake()
    return wait === undefined ? undefined : restore(wait)
  }
  const waitModel = model.tryTake()
  if (waitModel === undefined) return providerAfter(provider, model, restore)
  return Effect.zipRight(restore(waitModel), Effect.suspend(() => providerAfter(provider, model, restore) ?? Effect.void))
}

/** `provider`'s permit, taken while `model`'s is held: an interrupted wait gives the model's back. */
const providerAfter = (
  provider: Limiter,
  model: Limiter,
  restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
): Effect.Effect<void> | undefined => {
  const wait = provider.tryTake()
  return wait === undefined ? undefined : Effect.onInterrupt(restore(wait), () => Effect.sync(model.release))
}

/** Give back the permits `takePermits` took (once per call). */
export const releasePermits = (provider: Limiter, model: Limiter | undefined): void => {
  provider.release()
  if (model !== undefined) model.release()
}
