/**
 * Keep a file watch alive: a watch that fails (inotify watches exhausted,
 * `ENOSPC` / `EMFILE`, the watched directory deleted), dies (Node's `fs.watch`
 * throwing) or ends (the watcher closed) is started again after a backoff,
 * for as long as its consumer runs. Each failure is logged once, with the path
 * and the reason; each successful restart is signalled, so that the consumer reloads once
 * (the file may have changed while nothing watched it).
 */
import { Cause, Effect, Queue, Ref, Schedule, Stream } from "effect"

/** Delay between restarts of a failed watch: 1 s, doubling, capped at 60 s, forever; reset once the watch sees an event. */
export const watchBackoff: Schedule.Schedule<unknown> = Schedule.exponential("1 second").pipe(
  Schedule.union(Schedule.spaced("60 seconds"))
)

/** How long a restarted watch must last before `Restarted` is emitted. */
export const settled = "100 millis"

/** Emitted by `retryWatch` after each restart of the watch: the files may have changed unseen. */
export const Restarted: unique symbol = Symbol.for("@modelgate/core/internal/retryWatch/Restarted")

/** The reason of a failed watch, for the log: a message, not a stack. */
const reasonOf = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  if (error instanceof Error) {
    const inner = (error as { readonly cause?: unknown }).cause
    return inner instanceof Error && inner.message !== error.message ? `${error.message} (${inner.message})` : error.message
  }
  return String(error)
}

/**
 * `watch`, restarted on `schedule` (default `watchBackoff`) whenever it fails,
 * dies or ends, never failing itself; `Restarted` is emitted once per restart
 * that has lasted `settled` (the consumer then re-reads its files).
 * `path` names the watch in the warning logged for each failure.
 */
export const retryWatch = <A, E, R>(
  path: string,
  watch: Stream.Stream<A, E, R>,
  schedule: Schedule.Schedule<unknown, string> = watchBackoff
): Stream.Stream<A | typeof Restarted, never, R> =>
  Stream.unwrapScoped(
    Effect.gen(function*() {
      // Restarts are signalled beside the watch, not through it: an element of the retried stream resets the backoff.
      const restarts = yield* Effect.acquireRelease(Queue.unbounded<typeof Restarted>(), Queue.shutdown)
      const started = yield* Ref.make(false)
      // A restart is signalled once the new watch has lasted `settled` (a watch that fails at once is no restart).
      const once = Stream.unwrapScoped(
        Effect.flatMap(Ref.getAndSet(started, true), (again) =>
          again
            ? Effect.as(Effect.forkScoped(Effect.delay(Queue.offer(restarts, Restarted), settled)), watch)
            : Effect.succeed(watch))
      ).pipe(
        Stream.catchAllCause((cause) => Cause.isInterruptedOnly(cause) ? Stream.failCause(Cause.map(cause, String)) : Stream.fail(reasonOf(cause))),
        Stream.concat(Stream.fail("the watcher closed")),
        Stream.tapError((reason) => Effect.logWarning(`file watcher on ${path} failed, restarting it with backoff: ${reason}`)),
        Stream.retry(schedule)
      )
      return Stream.merge(once, Stream.fromQueue(restarts), { haltStrategy: "left" })
    })
  ).pipe(Stream.orDie)
