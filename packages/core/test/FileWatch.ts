/**
 * Helpers for tests of file watchers. Watching is real I/O: a watcher starts
 * in the background with no readiness signal, so these wait for what the
 * watcher did, in real time, with a generous give-up that only detects hangs.
 */
import { FileSystem } from "@effect/platform"
import { Effect, Option } from "effect"

/** Real time after which a wait on file events is taken as a hang (never the bound a test asserts). */
export const hangAfter = "10 seconds"

/** Fail naming `what` if `effect` has not ended after `hangAfter` of real time. */
export const hangDetector = <A, E, R>(effect: Effect.Effect<A, E, R>, what: string) =>
  Effect.timeoutFail(effect, {
    duration: hangAfter,
    onTimeout: () => new Error(`hang detector: waited ${hangAfter} of real time for ${what}`)
  })

/**
 * Write `content` to `file`, wait up to `roundMs` of real time (longer than the
 * watcher's debounce) for `observed`, and write again until it is seen: for the
 * first change a watcher started in the background must see, when it may not
 * be live yet. Each write runs whole (never interrupted half way), so no
 * truncated file is left behind; give-up after `hangAfter`.
 */
export const writeUntilObserved = <A, E, R>(
  file: string,
  content: string,
  observed: Effect.Effect<A, E, R>,
  what: string,
  roundMs = 300
) =>
  FileSystem.FileSystem.pipe(
    Effect.flatMap((fs) => Effect.uninterruptible(fs.writeFileString(file, content))),
    Effect.zipRight(Effect.timeoutOption(observed, roundMs)),
    Effect.repeat({ until: Option.isSome }),
    Effect.flatten,
    (effect) => hangDetector(effect, what)
  )
