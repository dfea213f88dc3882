/**
 * The wait queue's bound (`failover.queueCapacity`) is shared by every
 * priority: a flood of LOW requests filling it must not turn CRITICAL ones
 * away. A request arriving to a full queue takes the place of the newest
 * waiter of the lowest priority below its own, which fails with a
 * `QueueTimeout` saying why (the 503 to retry); a queue full of requests
 * as high as the newcomer still refuses it. A waiter that waits out its
 * deadline is told its priority and the deadline.
 */
import { assert, describe, it } from "@effect/vitest"
import { NoEligibleModel } from "@modelgate/domain/Errors"
import { Effect, Either, Fiber, Option, Ref, TestClock } from "effect"
import * as WaitQueue from "../src/Gateway/WaitQueue.js"

const rateLimited = new NoEligibleModel({ exclusions: [{ model: "m", reason: "rate limited", kind: "rate_limited" }], retryAfterMs: 60_000 })

describe("WaitQueue full of lower priorities", () => {
  it.effect("a CRITICAL request arriving to a queue full of LOW ones waits, and the newest LOW one fails with a QueueTimeout naming why", () =>
    Effect.gen(function* () {
      const queue = yield* WaitQueue.make({ capacity: 2, pollMs: 1_000 })
      const open = yield* Ref.make(false)
      const attempt = Effect.flatMap(Ref.get(open), (ok) => (ok ? Effect.succeed("served") : Effect.fail(rateLimited)))
      const older = yield* Effect.fork(Effect.either(queue.run("LOW", 30_000, attempt)))
      yield* TestClock.adjust(10)
      const newer = yield* Effect.fork(Effect.either(queue.run("LOW", 30_000, attempt)))
      yield* TestClock.adjust(10)
      assert.strictEqual(yield* queue.size, 2)
      const critical = yield* Effect.fork(Effect.either(queue.run("CRITICAL", 30_000, attempt)))
      yield* TestClock.adjust(0)
      assert.isTrue(Option.isNone(yield* Fiber.poll(critical)), "the CRITICAL request was not refused")
      assert.strictEqual(yield* queue.size, 2, "the bound holds")
      // The displaced waiter hears of it at its next look (within `pollMs`).
      yield* TestClock.adjust(1_000)
      const displaced = yield* Fiber.join(newer)
      assert.isTrue(Either.isLeft(displaced) && displaced.left._tag === "QueueTimeout")
      if (Either.isLeft(displaced) && displaced.left._tag === "QueueTimeout") {
        assert.include(displaced.left.message, "CRITICAL")
        assert.include(displaced.left.message, "LOW")
        assert.include(displaced.left.message, "failover.queueCapacity")
        assert.strictEqual(displaced.left.retryAfterMs, 60_000 - 1_000)
      }
      assert.isTrue(Option.isNone(yield* Fiber.poll(older)), "the older LOW request still waits")
      yield* Ref.set(open, true)
      yield* TestClock.adjust(1_000)
      assert.deepStrictEqual(yield* Fiber.join(critical), Either.right("served"))
      assert.deepStrictEqual(yield* Fiber.join(older), Either.right("served"))
      assert.strictEqual(yield* queue.size, 0)
    }))

  it.effect("a request arriving to a queue full of requests as high as its own is refused at once", () =>
    Effect.gen(function* () {
      const queue = yield* WaitQueue.make({ capacity: 1, pollMs: 1_000 })
      yield* Effect.fork(queue.run("HIGH", 30_000, Effect.fail(rateLimited)))
      yield* TestClock.adjust(10)
      const refused = yield* Effect.either(queue.run("HIGH", 30_000, Effect.fail(rateLimited)))
      assert.isTrue(Either.isLeft(refused) && refused.left._tag === "QueueTimeout")
      const lower = yield* Effect.either(queue.run("MEDIUM", 30_000, Effect.fail(rateLimited)))
      assert.isTrue(Either.isLeft(lower) && lower.left._tag === "QueueTimeout")
      assert.strictEqual(yield* queue.size, 1)
    }))

  it.effect("a LOW request waited out under higher-priority load is told its priority and the deadline", () =>
    Effect.gen(function* () {
      const queue = yield* WaitQueue.make({ capacity: 10, pollMs: 1_000 })
      const fiber = yield* Effect.fork(Effect.either(queue.run("LOW", 3_000, Effect.fail(rateLimited))))
      yield* TestClock.adjust(4_000)
      const result = yield* Fiber.join(fiber)
      assert.isTrue(Either.isLeft(result) && result.left._tag === "QueueTimeout")
      if (Either.isLeft(result)) {
        assert.include(result.left.message, "priority LOW")
        assert.include(result.left.message, "failover.queueDeadlineMs")
        assert.include(result.left.message, "rate limited")
      }
    }))
})
