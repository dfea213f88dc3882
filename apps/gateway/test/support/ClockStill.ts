/**
 * "Ends while the TestClock stands still": for waits that must not depend on
 * time passing (a shutdown that must not sit out its grace period, a stream
 * released when its client leaves). The test moves no clock meanwhile; the
 * effect is waited for in real time only to detect a hang.
 */
import { assert } from "@effect/vitest"
import { Clock, Effect, Fiber, Option, TestServices } from "effect"

/** Real time after which a wait is taken as a hang: a detector, never the bound a test asserts. */
export const hangAfter = "10 seconds"

/**
 * Run `effect` on a fork (under the test's services, so its clock is the
 * `TestClock`) and wait for it to end without moving the `TestClock`; its
 * outcome is returned as its own. Fails naming `what` if it is still running
 * after `hangAfter` of real time (it waits on the clock, or the machine
 * stalled that long), and checks the `TestClock` did not move meanwhile.
 */
export const endsWithClockStill = <A, E, R>(effect: Effect.Effect<A, E, R>, what: string) =>
  Effect.gen(function* () {
    const before = yield* Clock.currentTimeMillis
    const fiber = yield* Effect.fork(effect)
    const exit = yield* TestServices.provideLive(Effect.timeoutOption(Fiber.await(fiber), hangAfter))
    if (Option.isNone(exit)) {
      yield* Fiber.interrupt(fiber).pipe(Effect.fork)
      return assert.fail(`${what}: still running after ${hangAfter} of real time with the TestClock standing still (it waits on the clock, or the machine stalled that long)`)
    }
    assert.strictEqual(yield* Clock.currentTimeMillis, before, `${what}: ended, but the TestClock moved meanwhile`)
    return yield* exit.value
  })
