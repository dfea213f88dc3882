/**
 * Closing: a wait that the server's shutdown ends. A request still waiting
 * (in the gateway's queue, `WaitQueue`; for a provider's concurrency permit,
 * `CallContext.closing`) was never sent, so when the server begins to shut
 * down (`RequestOptions.closing`) it stops waiting and fails at once, rather
 * than hold the drain until its deadline or be sent in the middle of it.
 */
import { Effect, Exit, Fiber } from "effect"

/**
 * `wait`, unless `closing` completes first (or already has): `wait` is then
 * interrupted and the result is `closed` (the caller's typed failure, run
 * when `closing` completes). `wait` runs in a fiber of its own, with the
 * caller's interruptibility: in a masked region (its own `restore` points
 * the only interruptible ones), a value it got just as it lost goes to
 * `release` (permits given back) instead of being dropped. The race itself
 * is interruptible, even in a masked region: the caller's interruption (its
 * client gone) ends the wait too, `release` included.
 */
export const untilClosing = <A, E, E2>(
  wait: Effect.Effect<A, E>,
  closing: Effect.Effect<void>,
  closed: Effect.Effect<never, E2>,
  release?: (value: A) => Effect.Effect<void>
): Effect.Effect<A, E | E2> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(Effect.fork(restore(wait)), (waiting) =>
      Effect.matchCauseEffect(Effect.interruptible(Effect.raceFirst(Fiber.join(waiting), Effect.zipRight(closing, closed))), {
        onSuccess: Effect.succeed,
        onFailure: (cause) =>
          Effect.flatMap(Fiber.interrupt(waiting), (exit) =>
            Exit.isSuccess(exit) && release !== undefined
              ? Effect.zipRight(release(exit.value), Effect.failCause(cause))
              : Effect.failCause(cause))
      }))
  )
