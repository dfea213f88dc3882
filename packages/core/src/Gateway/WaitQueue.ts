/**
 * WaitQueue: a bounded priority queue of requests waiting for a candidate.
 *
 * When every candidate is unavailable or rate limited a request waits here
 * instead of failing at once. Waiters retry when their earliest known time
 * arrives (or every `pollMs`); when several are ready, the highest priority
 * goes first (CRITICAL, HIGH, MEDIUM, LOW, then arrival order): a waiter lets
 * each one ahead of it try once more (or leave) before its own try, so one
 * ahead whose candidates are still out (another provider down) holds it back
 * at most until that try, never until it leaves. The bound is shared by
 * every priority, so a request arriving to a full queue takes the place of
 * the newest waiter of the lowest priority below its own (which fails with
 * `QueueTimeout`, naming the request that displaced it, at its next look:
 * within `pollMs`); with none below it, or a passed deadline (the message
 * names the priority and `failover.queueDeadlineMs`), it fails with
 * `QueueTimeout` (with the last ranking's
 * retry hint, counted from the deadline, when it had one; a full queue's,
 * that of the ranking that found no candidate). A request given `closing`
 * (its server's shutdown) fails with `ShuttingDown` the moment it
 * completes, or at once when it already has (`Closing.untilClosing`): a
 * waiter was never sent, so it is not held until its deadline while the
 * server drains. A request refused (the queue full, its deadline too near)
 * is refused in its own fiber, as cheaply with `closing` as without.
 */
import { type NoEligibleModel, QueueTimeout, ShuttingDown } from "@modelgate/domain/Errors"
import type { Priority } from "@modelgate/domain/Requirements"
import { Clock, Deferred, Effect, Ref } from "effect"
import { untilClosing } from "../Closing.js"

/** The queue's order of priorities: higher goes first. */
export const rank: Record<Priority, number> = { CRITICAL: 3, HIGH: 2, MEDIUM: 1, LOW: 0 }

interface Waiter {
  readonly seq: number
  readonly priority: number
  readonly name: Priority
  /** Set when a higher-priority request took its place in the full queue: it fails at its next look. */
  displaced: { readonly by: Priority; readonly capacity: number } | undefined
  /** Completed after each of its tries (then replaced), and when it leaves. */
  tried: Deferred.Deferred<void>
}

/** The queue's options. */
export interface WaitQueueOptions {
  /**
   * Most waiters at once: a number, or read each time a request is about to
   * wait (the gateway reads `failover.queueCapacity`, so a reload applies to
   * the next waiter; waiters already in stay when it is lowered).
   */
  readonly capacity: number | Effect.Effect<number>
  readonly pollMs: number
}

/**
 * Whether waiting up to `withinMs` can help: some candidate is rate limited
 * (it has room again at a known time, or sooner as requests in flight settle)
 * or unavailable with a probe due within `withinMs` (or at an unknown time).
 * An unavailable model whose next probe comes after the deadline cannot be
 * back in time; budgets and hard requirements do not pass by waiting.
 */
export const transient = (error: NoEligibleModel, withinMs: number = Infinity): boolean =>
  error.exclusions.some((e) =>
    e.kind === "rate_limited" || (e.kind === "unavailable" && (e.retryAfterMs === undefined || e.retryAfterMs < withinMs))
  )

/** Build a wait queue. */
export const make = (options: WaitQueueOptions) =>
  Effect.gen(function* () {
    const waiters = yield* Ref.make<ReadonlyArray<Waiter>>([])
    const seq = yield* Ref.make(0)

    const leave = (self: Waiter) =>
      Ref.update(waiters, (all) => all.filter((w) => w !== self)).pipe(Effect.zipRight(Effect.suspend(() => Deferred.succeed(self.tried, undefined))))

    /** Wait until every waiter ahead of `self` (higher priority, or as high and earlier) has tried once more or left, or `untilMs` passes. */
    const yieldToHigher = (self: Waiter, untilMs: number) =>
      Effect.gen(function* () {
        const ahead = (yield* Ref.get(waiters))
          .filter((w) => w.priority > self.priority || (w.priority === self.priority && w.seq < self.seq))
          .map((w) => w.tried)
        if (ahead.length === 0) return
        const now = yield* Clock.currentTimeMillis
        // One after another, in this fiber: all of them done is the same moment, and no fiber per waiter ahead.
        yield* Effect.forEach(ahead, Deferred.await, { discard: true }).pipe(
          Effect.timeout(Math.max(0, untilMs - now)),
          Effect.ignore
        )
      })

    /**
     * Run `attempt` until it succeeds, fails with something other than
     * `NoEligibleModel`, or `deadlineMs` (ms from now; read only when the
     * first attempt found nothing) passes. The first attempt runs as is, with
     * no step of the queue's own when it succeeds (the common case); the
     * later ones run `again()` when given (built once, when the request
     * starts to wait), else `attempt` again.
     */
    const run = <A, E>(
      priority: Priority,
      deadlineMs: number | Effect.Effect<number>,
      attempt: Effect.Effect<A, E | NoEligibleModel>,
      again?: () => Effect.Effect<A, E | NoEligibleModel>,
      closing?: Effect.Effect<void>
    ): Effect.Effect<A, E | NoEligibleModel | QueueTimeout | ShuttingDown> =>
      Effect.catchAll(attempt, (error) => {
        if (!isNoEligible(error) || !transient(error)) return Effect.fail(error)
        const retry = again === undefined ? attempt : again()
        return typeof deadlineMs === "number"
          ? wait(priority, deadlineMs, retry, error, closing)
          : Effect.flatMap(deadlineMs, (ms) => wait(priority, ms, retry, error, closing))
      })

    /**
     * `waiting`, unless `closing` completes first (or has already): then it is interrupted and the
     * request fails with `ShuttingDown`, the last ranking's reason in it.
     */
    const untilShutdown = <A, E>(
      waiting: Effect.Effect<A, E>,
      closing: Effect.Effect<void>,
      error: NoEligibleModel,
      start: number
    ): Effect.Effect<A, E | ShuttingDown> =>
      untilClosing(
        waiting,
        closing,
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          // Validation off (`, true`): our own clock readings (a non-negative wait, clamped) and message.
          Effect.fail(new ShuttingDown({ waitedMs: Math.max(0, now - start), reason: error.message }, true)))
      )

    /**
     * `attempt` found no candidate (`error`): wait in the queue and retry until `deadlineMs` passes; with
     * `closing`, until the server's shutdown at most (`untilShutdown`). A request that cannot wait (its
     * deadline too near, the queue full) is refused in its own fiber, before any race with `closing`:
     * a full queue is overload, where a refusal must stay cheap.
     */
    const wait = <A, E>(
      priority: Priority,
      deadlineMs: number,
      attempt: Effect.Effect<A, E | NoEligibleModel>,
      error: NoEligibleModel,
      closing: Effect.Effect<void> | undefined
    ): Effect.Effect<A, E | NoEligibleModel | QueueTimeout | ShuttingDown> =>
      Effect.gen(function* () {
        if (deadlineMs <= 0 || !transient(error, deadlineMs)) return yield* Effect.fail(error)
        const start = yield* Clock.currentTimeMillis
        const capacity = typeof options.capacity === "number" ? options.capacity : yield* options.capacity
        const self: Waiter = {
          seq: yield* Ref.getAndUpdate(seq, (n) => n + 1),
          priority: rank[priority],
          name: priority,
          displaced: undefined,
          tried: yield* Deferred.make<void>()
        }
        // Checked and joined in one step, its leaving installed with it (uninterruptibly): an interruption
        // (its client gone, a timeout, a shutdown) landing in between would keep it in the queue for good, a
        // place lost, and every waiter behind it held back until its own deadline (`yieldToHigher`).
        const join = Effect.flatMap(
          Ref.modify(waiters, (all): [Waiter | boolean, ReadonlyArray<Waiter>] => {
            if (all.length < capacity) return [true, [...all, self]]
            const victim = displaceable(all, self)
            return victim === undefined ? [false, all] : [victim, [...all.filter((w) => w !== victim), self]]
          }),
          (joined) =>
            joined === true
              ? Effect.void
              : joined !== false
              ? Effect.suspend(() => {
                joined.displaced = { by: priority, capacity }
                return Deferred.succeed(joined.tried, undefined)
              })
              // Validation off (`, true`): our own messages. The ranking's retry hint, when it had one, is
              // the 503's Retry-After.
              : new QueueTimeout({
                waitedMs: 0,
                reason: `wait queue full (failover.queueCapacity: ${capacity} waiting): ${error.message}`,
                ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs })
              }, true)
        )
        const waiting = retryUntil(self, start, deadlineMs, attempt, error)
        return yield* Effect.acquireUseRelease(
          join,
          () => (closing === undefined ? waiting : untilShutdown(waiting, closing, error, start)),
          () => leave(self)
        )
      })

    /**
     * A waiter's turns in the queue: retry `attempt` as its turn comes, until `deadlineMs` (from `start`)
     * passes, or a higher-priority request takes its place in the full queue (seen at its next look).
     */
    const retryUntil = <A, E>(
      self: Waiter,
      start: number,
      deadlineMs: number,
      attempt: Effect.Effect<A, E | NoEligibleModel>,
      error: NoEligibleModel
    ): Effect.Effect<A, E | NoEligibleModel | QueueTimeout> =>
      Effect.gen(function* () {
        const until = start + deadlineMs
        let last: NoEligibleModel = error
        let lastAt = start
        /** The `QueueTimeout` that ends the wait now, with the last ranking's hint counted from now (clamped at 0). */
        const ended = (now: number, reason: string) => {
          const retryAfterMs = last.retryAfterMs === undefined ? undefined : Math.max(0, last.retryAfterMs - (now - lastAt))
          // Validation off (`, true`): our own clock readings and message.
          return new QueueTimeout(
            { waitedMs: Math.max(0, now - start), reason, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) },
            true
          )
        }
        const displaced = (now: number) =>
          self.displaced === undefined ? undefined : ended(
            now,
            `a ${self.displaced.by} request took this ${self.name} request's place in the full wait queue ` +
              `(failover.queueCapacity: ${self.displaced.capacity} waiting): ${last.message}`
          )
        while (true) {
          const now = yield* Clock.currentTimeMillis
          const out = displaced(now)
          if (out !== undefined) return yield* out
          if (now >= until) {
            return yield* ended(
              now,
              `the wait queue's deadline (failover.queueDeadlineMs: ${deadlineMs} ms) passed for this priority ${self.name} request: ${last.message}`
            )
          }
          const wait = Math.min(last.retryAfterMs ?? options.pollMs, options.pollMs, until - now)
          yield* Effect.sleep(Math.max(1, wait))
          const woke = displaced(yield* Clock.currentTimeMillis)
          if (woke !== undefined) return yield* woke
          yield* yieldToHigher(self, until)
          const turn = displaced(yield* Clock.currentTimeMillis)
          if (turn !== undefined) return yield* turn
          const next = yield* Effect.either(attempt)
          const tried = self.tried
          self.tried = yield* Deferred.make<void>()
          yield* Deferred.succeed(tried, undefined)
          if (next._tag === "Right") return next.right
          const rankedAt = yield* Clock.currentTimeMillis
          if (!isNoEligible(next.left) || !transient(next.left, until - rankedAt)) {
            return yield* Effect.fail(next.left)
          }
          last = next.left
          lastAt = rankedAt
        }
      })

    return { run, size: Effect.map(Ref.get(waiters), (w) => w.length) } as const
  })

/** The newest waiter of the lowest priority below `self`'s, whose place `self` may take in a full queue. */
const displaceable = (all: ReadonlyArray<Waiter>, self: Waiter): Waiter | undefined => {
  let victim: Waiter | undefined
  for (const w of all) {
    if (w.priority < self.priority && (victim === undefined || w.priority < victim.priority || (w.priority === victim.priority && w.seq > victim.seq))) {
      victim = w
    }
  }
  return victim
}

const isNoEligible = (u: unknown): u is NoEligibleModel =>
  typeof u === "object" && u !== null && "_tag" in u && u._tag === "NoEligibleModel"
