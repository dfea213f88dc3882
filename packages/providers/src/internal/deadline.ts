/**
 * Deadlines of HTTP exchanges, cheaper than `Effect.timeoutFail` (whose
 * `raceFibersWith` forks two fibers per call, merges their FiberRefs and
 * awaits the loser) and `Stream.timeoutFail` (the same, on every pull).
 *
 * An exchange runs in its caller's fiber. One watchdog fiber per timeout
 * length sleeps on `Clock` (so `TestClock` drives it) until the earliest
 * deadline of the exchanges it watches; an exchange only adds itself to a
 * set and removes itself at its end (no fiber, no timer per call). When a
 * deadline passes, the watchdog marks the exchange timed out and closes its
 * scope, which aborts the HTTP request (`HttpClient.withScope`); the error the
 * abort causes then becomes `Timeout` (see `Deadline.timedOut`). The watchdog
 * ends when it wakes with nothing left to watch, or when the scope of its
 * client (the adapter's layer) closes: it is forked in that scope, so a
 * sleeping watchdog never keeps a finished program alive.
 */
import { Clock, Effect, Exit, Scope } from "effect"

/** The deadline of one exchange. */
export interface Deadline {
  readonly timeoutMs: number
  /** The scope of the exchange's request: closing it aborts the request. */
  readonly scope: Scope.CloseableScope
  /** The `Clock` of the exchange (for its own time stamps). */
  readonly clock: Clock.Clock
  /**
   * Since when the exchange has been waiting on the provider; undefined
   * while it waits on its own consumer (a stream between pulls). A stream
   * sets it on every pull, so the timeout bounds each gap, not the stream.
   */
  waitingSince: number | undefined
  /** Set by the watchdog when it aborted the exchange. */
  timedOut: boolean
  /** Set when the body was read to its end (or the client has it all): nothing is left to abort. */
  drained: boolean
}

interface Group {
  readonly entries: Set<Deadline>
  running: boolean
}

/** An armed deadline, and the watchdog to start first when none watches its timeout length yet. */
export interface Armed {
  readonly deadline: Deadline
  /** Forks the watchdog (in the client's scope); undefined when one is running. */
  readonly start: Effect.Effect<unknown> | undefined
}

/** The watchdogs of one HTTP client. */
export interface Watchdogs {
  /**
   * Watch an exchange in `scope`, waiting on the provider from now (`clock`,
   * the exchange's). Synchronous, so the caller arms it inside a step of its
   * own; it must run `start` when there is one.
   */
  readonly arm: (scope: Scope.CloseableScope, timeoutMs: number, clock: Clock.Clock) => Armed
  /** Stop watching (idempotent; synchronous). */
  readonly disarm: (deadline: Deadline) => void
}

/**
 * Watchdogs for one client: one group (and at most one fiber) per timeout
 * length, each forked in `clientScope`, so closing it interrupts them.
 */
export const makeWatchdogs = (clientScope: Scope.Scope): Watchdogs => {
  const groups = new Map<number, Group>()

  const fire = (deadlines: ReadonlyArray<Deadline>) =>
    // Uninterruptible: a scope's finalizers (the permit) must all run.
    Effect.uninterruptible(Effect.forEach(deadlines, (d) => Scope.close(d.scope, Exit.void), { discard: true }))

  const watch = (group: Group, timeoutMs: number, delayMs: number): Effect.Effect<void> =>
    Effect.zipRight(
      Effect.sleep(delayMs),
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const due: Array<Deadline> = []
        // A deadline waiting on its consumer cannot pass before now + timeoutMs.
        let next = now + timeoutMs
        for (const deadline of group.entries) {
          const since = deadline.waitingSince
          if (since === undefined) continue
          if (since + timeoutMs <= now) {
            deadline.timedOut = true
            group.entries.delete(deadline)
            due.push(deadline)
          } else if (since + timeoutMs < next) {
            next = since + timeoutMs
          }
        }
        if (group.entries.size === 0) {
          group.running = false
          return due.length === 0 ? Effect.void : fire(due)
        }
        return due.length === 0 ? watch(group, timeoutMs, next - now) : Effect.zipRight(fire(due), watch(group, timeoutMs, next - now))
      })
    )

  const arm = (scope: Scope.CloseableScope, timeoutMs: number, clock: Clock.Clock): Armed => {
    let group = groups.get(timeoutMs)
    if (group === undefined) {
      group = { entries: new Set(), running: false }
      groups.set(timeoutMs, group)
    }
    const deadline: Deadline = {
      timeoutMs,
      scope,
      clock,
      waitingSince: clock.unsafeCurrentTimeMillis(),
      timedOut: false,
      drained: false
    }
    group.entries.add(deadline)
    if (group.running) return { deadline, start: undefined }
    // Every deadline in the group is at least `timeoutMs` away from now, so the first wake-up is exact.
    group.running = true
    const running = group
    const watchdog = Effect.onInterrupt(
      Effect.interruptible(watch(running, timeoutMs, timeoutMs)),
      // Interrupted asleep (its client's scope closed): the next arm starts a new one.
      () => Effect.sync(() => { running.running = false })
    )
    return { deadline, start: Effect.forkIn(watchdog, clientScope) }
  }

  const disarm = (deadline: Deadline): void => {
    groups.get(deadline.timeoutMs)?.entries.delete(deadline)
  }

  return { arm, disarm }
}
