/**
 * Abandoned streams: an answered stream that nobody starts reading within
 * `afterMs` (the client left between the answer's headers and its body) is
 * given up: its `onAbandon` runs (close the upstream, give back what was held).
 *
 * One janitor fiber per gateway instead of a sleeping fiber per stream (a
 * fork, a timer and a Ref per request before): streams wait in an insertion
 * ordered set (all share `afterMs`, so the oldest is due first); starting a
 * stream removes it synchronously. The janitor sleeps until the oldest
 * deadline. While streams keep coming it looks again once per delay, even
 * when none is pending: streams are usually started as soon as they are
 * handed out, and waking it for each one (a fiber resumed and a Deferred
 * made per stream, ~5 us) cost more than its timer. Only after a whole
 * delay with no stream handed out does it wait without a timer, and the
 * next stream wakes it.
 */
import { Effect, Queue } from "effect"

/** A stream handed out and not yet started. */
export interface Pending {
  /** The consumer started the stream; false when it was already abandoned (too late). */
  readonly start: () => boolean
}

interface Entry {
  readonly deadline: number
  readonly onAbandon: Effect.Effect<void>
  abandoned: boolean
}

/** Watches handed-out streams; built in a scope that owns its fiber. */
export interface Abandoner {
  /** Watch a stream handed out at `now`: unless it is started within the delay, `onAbandon` runs (once). */
  readonly register: (now: number, onAbandon: Effect.Effect<void>) => Pending
}

/** Build an abandoner whose janitor fiber lives in the current scope; time is the Clock's (TestClock drives it). */
export const make = (afterMs: number) =>
  Effect.gen(function* () {
    const pending = new Set<Entry>()
    const wake = yield* Queue.sliding<void>(1)

    /** Take out every entry due at `now`, oldest first. */
    const due = (now: number): Array<Entry> => {
      const out: Array<Entry> = []
      for (const entry of pending) {
        if (entry.deadline > now) break
        pending.delete(entry)
        entry.abandoned = true
        out.push(entry)
      }
      return out
    }

    /** The janitor waits on `wake` (no timer): the next `register` wakes it. */
    let idle = false
    /** A stream was handed out since the janitor last looked. */
    let registered = false

    const step: Effect.Effect<void> = Effect.clockWith((clock) => {
      const seen = registered
      registered = false
      const oldest = pending.values().next()
      if (oldest.done === true) {
        // Streams handed out since the last look were all started: a later one is due a delay from now at
        // the earliest, so look again then. Nothing handed out for a whole delay: wait for the next one.
        if (seen) return Effect.sleep(afterMs)
        idle = true
        return Queue.take(wake)
      }
      const now = clock.unsafeCurrentTimeMillis()
      if (oldest.value.deadline > now) return Effect.sleep(oldest.value.deadline - now)
      // Each in its own fiber, as before: a slow upstream close does not hold up the others.
      return Effect.forEach(due(now), (entry) => Effect.forkDaemon(entry.onAbandon), { discard: true })
    })

    yield* Effect.forkScoped(Effect.forever(step))

    const register = (now: number, onAbandon: Effect.Effect<void>): Pending => {
      const entry: Entry = { deadline: now + afterMs, onAbandon, abandoned: false }
      pending.add(entry)
      registered = true
      if (idle) {
        idle = false
        wake.unsafeOffer(undefined)
      }
      return {
        start: () => {
          pending.delete(entry)
          return !entry.abandoned
        }
      }
    }
    return { register } satisfies Abandoner
  })
