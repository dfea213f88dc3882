/**
 * What a real wait in the queue costs in fibers: a waiter lets each one
 * ahead of it try once more before its own try, and that wait must not fork
 * fibers per waiter ahead at every look (with many waiting, that was fibers
 * quadratic in the queue's length every `pollMs`, on a server already
 * overloaded). It costs the same whatever the number ahead: the timer that
 * bounds it by the waiter's deadline.
 */
import { assert, describe, it } from "@effect/vitest"
import { NoEligibleModel } from "@modelgate/domain/Errors"
import { Effect, Fiber, TestClock } from "effect"
import * as WaitQueue from "../src/Gateway/WaitQueue.js"
import { Started } from "./StartedFibers.js"

const rateLimited = new NoEligibleModel({ exclusions: [{ model: "m", reason: "rate limited", kind: "rate_limited" }], retryAfterMs: 60_000 })

/** The fibers a LOW waiter starts over five looks (`pollMs` 1 s) with `ahead` CRITICAL waiters ahead of it. */
const fibersBehind = (ahead: number) =>
  Effect.gen(function* () {
    const queue = yield* WaitQueue.make({ capacity: 100, pollMs: 1_000 })
    const others = yield* Effect.forEach(Array.from({ length: ahead }), () => Effect.fork(queue.run("CRITICAL", 30_000, Effect.fail(rateLimited))))
    yield* TestClock.adjust(1)
    const started = new Started()
    const waiter = yield* Effect.fork(Effect.supervised(Effect.either(queue.run("LOW", 30_000, Effect.fail(rateLimited))), started))
    yield* TestClock.adjust(5_000)
    assert.strictEqual(yield* queue.size, ahead + 1, "all still wait")
    yield* Fiber.interruptAll([waiter, ...others])
    return started.count
  })

describe("WaitQueue fibers", () => {
  it.effect("a waiter's looks cost the same fibers whatever the number of waiters ahead of it", () =>
    Effect.gen(function* () {
      assert.strictEqual(yield* fibersBehind(0), 0, "alone: none")
      const one = yield* fibersBehind(1)
      const ten = yield* fibersBehind(10)
      assert.strictEqual(ten, one, "ten ahead cost what one does")
      assert.isAtMost(one, 5 * 2, "at most the deadline's timer (two fibers) a look")
    }))
})
