/**
 * What the syncs between instances sharing one database have in common (the
 * budgets' `CostTracker/Sync.ts`, the rate limiter's `RateLimiter/Sync.ts`):
 * a sync that never fails (a run of failures logged once, and its end), run
 * one after another at an interval the configuration sets and may change.
 */
import { Duration, Effect, Stream } from "effect"

/**
 * `sync` that never fails: the first failure of a run is logged as an error
 * (`failed`, with the reason), the first success after it as `recovered`.
 */
export const quietly = <E extends { readonly message: string }>(
  sync: Effect.Effect<void, E>,
  messages: { readonly failed: string; readonly recovered: string }
): Effect.Effect<void> => {
  let failing = false
  const failed = (reason: string) => {
    if (failing) return Effect.void
    failing = true
    return Effect.logError(messages.failed, reason)
  }
  return sync.pipe(
    Effect.tap(() =>
      failing
        ? Effect.suspend(() => {
          failing = false
          return Effect.logInfo(messages.recovered)
        })
        : Effect.void
    ),
    Effect.catchAll((error) => failed(error.message)),
    Effect.catchAllDefect((defect) => failed(String(defect)))
  )
}

/**
 * At stop: `undo` (what this instance wrote that the others must not keep
 * counting), once something was written (`wrote`). Best effort: a failure, or
 * a store silent for 2 s, is logged as a warning (`failed`) and left.
 */
export const undoAtStop = <E extends { readonly message: string }>(
  wrote: () => boolean,
  undo: Effect.Effect<void, E>,
  failed: string
): Effect.Effect<void> =>
  Effect.suspend(() =>
    wrote()
      ? undo.pipe(
        Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => new Error("no answer in 2 s") }),
        Effect.catchAll((error) => Effect.logWarning(failed, error.message))
      )
      : Effect.void
  )

/**
 * Run `sync` every interval `intervals` gives (none: not at all), switching
 * when it changes; with `first`, also once at each (re)start of the loop. One
 * sync after another: the next wait starts when a sync is back, so a slow
 * store is never asked twice at once.
 */
export const everyInterval = (
  intervals: Stream.Stream<number | undefined>,
  sync: Effect.Effect<void>,
  options: { readonly first: boolean }
): Effect.Effect<void> => {
  return intervals.pipe(
    Stream.changes,
    Stream.flatMap(
      (ms) => {
        if (ms === undefined) return Stream.empty
        const every = Effect.forever(Effect.zipRight(Effect.sleep(Duration.millis(ms)), sync))
        return Stream.fromEffect(options.first ? Effect.zipRight(sync, every) : every)
      },
      { switch: true }
    ),
    Stream.runDrain
  )
}
