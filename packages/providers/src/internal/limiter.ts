/**
 * A concurrency limit (per provider, per capped model): a counting
 * semaphore whose fast path (a permit free) is plain JS inside the caller's
 * step, with no Effect op of its own (`Effect.Semaphore.withPermits` costs ~8 ops per call). Waiters
 * queue in FIFO order; a released permit is handed straight to the first.
 */
import { Effect } from "effect"

interface Waiter {
  wake: () => void
  handed: boolean
}

/** A counting semaphore with a synchronous fast path. */
export interface Limiter {
  readonly permits: number
  /**
   * Take a permit: `undefined` when one was free (taken now), else an effect
   * that waits for one (interruptible; an interrupted wait holds no permit).
   */
  readonly tryTake: () => Effect.Effect<void> | undefined
  /** Give a permit back (once per permit taken). */
  readonly release: () => void
}

/** A limiter of `permits` permits; `onIdle` runs when a release leaves no permit taken and no one waiting. */
export const makeLimiter = (permits: number, onIdle?: () => void): Limiter => {
  let active = 0
  const waiters: Array<Waiter> = []

  const release = (): void => {
    const next = waiters.shift()
    if (next === undefined) {
      active--
      if (active === 0 && onIdle !== undefined) onIdle()
      return
    }
    // The permit passes to the waiter without ever being free.
    next.handed = true
    next.wake()
  }

  const wait = (): Effect.Effect<void> => {
    const waiter: Waiter = { wake: () => {}, handed: false }
    // A permit handed over to a wait that is interrupted anyway is given on.
    let settled = false
    const giveBack = Effect.sync(() => {
      if (settled) return
      settled = true
      if (waiter.handed) release()
      else if (waiters.includes(waiter)) waiters.splice(waiters.indexOf(waiter), 1)
    })
    return Effect.onInterrupt(
      Effect.async<void>((resume) => {
        waiter.wake = () => resume(Effect.void)
        waiters.push(waiter)
        return giveBack
      }),
      () => giveBack
    )
  }

  const tryTake = (): Effect.Effect<void> | undefined => {
    if (active < permits) {
      active++
      return undefined
    }
    return wait()
  }

  return { permits, tryTake, release }
}
