/**
 * A concurrency limit (per provider, per capped model): a counting
 * semaphore whose fast path (a permit free) is plain JS inside the caller's
 * step, with no Effect op of its own (`Effect.Semaphore.withPermits` costs ~8 ops per call). Waiters
 * queue in FIFO order; a released permit is handed straight to the first.
 * Its size changes in place (`resize`, on a reload): the calls in flight and
 * waiting stay counted against the one limit.
 */
import { Effect } from "effect"

interface Waiter {
  wake: () => void
  handed: boolean
}

/** A counting semaphore with a synchronous fast path. */
export interface Limiter {
  /** The calls it lets in at once. */
  readonly permits: number
  /**
   * Take a permit: `undefined` when one was free (taken now), else an effect
   * that waits for one (interruptible; an interrupted wait holds no permit).
   */
  readonly tryTake: () => Effect.Effect<void> | undefined
  /** Give a permit back (once per permit taken). */
  readonly release: () => void
  /**
   * Let `permits` calls in at once from now on: raised, waiting calls get the
   * new room at once; lowered, no call starts until those holding permits are
   * under it (they keep theirs and give them back here).
   */
  readonly resize: (permits: number) => void
}

/** A limiter of `permits` permits; `onIdle` runs when a release leaves no permit taken and no one waiting. */
export const makeLimiter = (permits: number, onIdle?: () => void): Limiter => {
  let size = permits
  let active = 0
  const waiters: Array<Waiter> = []

  /** Hand free permits to the first waiters (the permit passes to a waiter without ever being free). */
  const handOn = (): void => {
    while (active < size) {
      const next = waiters.shift()
      if (next === undefined) return
      active++
      next.handed = true
      next.wake()
    }
  }

  const release = (): void => {
    active--
    handOn()
    if (active === 0 && waiters.length === 0 && onIdle !== undefined) onIdle()
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
    if (active < size && waiters.length === 0) {
      active++
      return undefined
    }
    return wait()
  }

  const resize = (next: number): void => {
    size = next
    handOn()
  }

  return {
    get permits() {
      return size
    },
    tryTake,
    release,
    resize
  }
}
