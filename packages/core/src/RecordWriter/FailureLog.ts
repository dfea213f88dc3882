/**
 * What the record writer logs while its store keeps failing: one warning when
 * writes start failing (the error, how many records wait), then at most one
 * reminder per `failureReminder` (still waiting, attempts so far), and one
 * info line when a write succeeds again (how long it failed, how many
 * attempts). The retries in between are counted, not logged.
 */
import type { StoreError } from "@modelgate/domain/Errors"
import { Clock, Duration, Effect } from "effect"

/** The least time between two "still failing" reminders. */
export const failureReminder: Duration.Duration = Duration.minutes(5)

/** A run of failed writes: when it began, how many attempts failed, when it was last logged. */
interface Episode {
  readonly since: number
  attempts: number
  loggedAt: number
}

/** Logs of failed and successful writes, for one writer. */
export interface FailureLog {
  /** A write failed with `error` while `waiting` records wait. */
  readonly failed: (error: StoreError, waiting: number) => Effect.Effect<void>
  /** A write succeeded. */
  readonly succeeded: Effect.Effect<void>
}

const records = (n: number) => `${n} record${n === 1 ? "" : "s"}`
const attempts = (n: number) => `${n} attempt${n === 1 ? "" : "s"}`
/** How long from `from` to `to`: whole seconds from a second on ("12m 3s"), else whole milliseconds. */
const elapsed = (from: number, to: number) => {
  const ms = to - from
  return Duration.format(Duration.millis(ms < 1000 ? Math.round(ms) : Math.round(ms / 1000) * 1000))
}

/** A failure log with no run of failures; used by one writer, under its write lock. */
export const make = (): FailureLog => {
  let episode: Episode | undefined
  const failed = (error: StoreError, waiting: number) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const run = episode
      if (run === undefined) {
        episode = { since: now, attempts: 1, loggedAt: now }
        return Effect.logWarning(
          `record writes failing: ${error.message}; ${records(waiting)} waiting in memory; retrying, with a reminder every ${Duration.format(failureReminder)} while it lasts`
        )
      }
      run.attempts++
      if (now - run.loggedAt < Duration.toMillis(failureReminder)) return Effect.void
      run.loggedAt = now
      return Effect.logWarning(
        `record writes still failing after ${elapsed(run.since, now)}: ${error.message}; ${records(waiting)} waiting in memory; ${attempts(run.attempts)} so far`
      )
    })
  const succeeded = Effect.suspend(() => {
    const run = episode
    if (run === undefined) return Effect.void
    episode = undefined
    return Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.logInfo(`record writes recovered after ${elapsed(run.since, now)} of failures (${attempts(run.attempts)} failed)`)
    )
  })
  return { failed, succeeded }
}
