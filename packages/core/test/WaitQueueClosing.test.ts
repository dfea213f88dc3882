/**
 * A server shutting down (SIGTERM) with requests in the wait queue: they were
 * never sent, so they fail at once with `ShuttingDown`, which says the
 * gateway is closing (the HTTP layer's 503 `shutting_down`, for the client
 * to retry on another instance), instead of holding the shutdown until its
 * grace period ends and their connections are cut unanswered. A full queue
 * names the config key that bounds it.
 */
import { assert, describe, it } from "@effect/vitest"
import { NoEligibleModel } from "@modelgate/domain/Errors"
import { Deferred, Effect, Either, Fiber, Option, Ref, TestClock } from "effect"
import * as WaitQueue from "../src/Gateway/WaitQueue.js"
import { Started } from "./StartedFibers.js"

const rateLimited = new NoEligibleModel({ exclusions: [{ model: "m", reason: "rate limited", kind: "rate_limited" }], retryAfterMs: 60_000 })

describe("WaitQueue while the server closes", () => {
  it.effect("waiters fail at once with ShuttingDown when the server starts shutting down, and leave the queue", () =>
    Effect.gen(function* () {
      const queue = yield* WaitQueue.make({ capacity: 10, pollMs: 1_000 })
      const closing = yield* Deferred.make<void>()
      const tries = yield* Ref.make(0)
      const attempt = Effect.zipRight(Ref.update(tries, (n) => n + 1), Effect.fail(rateLimited))
      const waiters = yield* Effect.forEach(["CRITICAL", "LOW"] as const, (p) =>
        Effect.fork(Effect.either(queue.run(p, 30_000, attempt, undefined, Deferred.await(closing)))))
      yield* TestClock.adjust(2_500)
      assert.strictEqual(yield* queue.size, 2)
      yield* Deferred.succeed(closing, undefined)
      // No time passes: the waiters end without waiting for their deadline.
      for (const waiter of waiters) {
        const result = yield* Fiber.join(waiter)
        assert.isTrue(Either.isLeft(result) && result.left._tag === "ShuttingDown")
        if (Either.isLeft(result) && result.left._tag === "ShuttingDown") {
          assert.strictEqual(result.left.waitedMs, 2_500)
          assert.include(result.left.message, "shutting down")
          assert.include(result.left.message, "not sent")
        }
      }
      assert.strictEqual(yield* queue.size, 0)
      const triesBefore = yield* Ref.get(tries)
      yield* TestClock.adjust(60_000)
      assert.strictEqual(yield* Ref.get(tries), triesBefore, "nothing is tried after the server began to close")
    }))

  it.effect("a request that finds no candidate once the server is closing fails at once instead of joining the queue", () =>
    Effect.gen(function* () {
      const queue = yield* WaitQueue.make({ capacity: 10, pollMs: 1_000 })
      const fiber = yield* Effect.fork(Effect.either(queue.run("MEDIUM", 30_000, Effect.fail(rateLimited), undefined, Effect.void)))
      yield* TestClock.adjust(0)
      const ended = yield* Fiber.poll(fiber)
      assert.isTrue(Option.isSome(ended), "it ended with the clock still")
      const result = yield* Fiber.join(fiber)
      assert.isTrue(Either.isLeft(result) && result.left._tag === "ShuttingDown")
    }))

  it.effect("a waiter served before the server closes is not affected", () =>
    Effect.gen(function* () {
      const queue = yield* WaitQueue.make({ capacity: 10, pollMs: 1_000 })
      const closing = yield* Deferred.make<void>()
      const open = yield* Ref.make(false)
      const attempt = Effect.flatMap(Ref.get(open), (ok) => (ok ? Effect.succeed("served") : Effect.fail(rateLimited)))
      const fiber = yield* Effect.fork(queue.run("MEDIUM", 30_000, attempt, undefined, Deferred.await(closing)))
      yield* TestClock.adjust(1_500)
      yield* Ref.set(open, true)
      yield* TestClock.adjust(1_000)
      assert.strictEqual(yield* Fiber.join(fiber), "served")
      yield* Deferred.succeed(closing, undefined)
    }))

  it.effect("a full queue's QueueTimeout names the config key that bounds it", () =>
    Effect.gen(function* () {
      const queue = yield* WaitQueue.make({ capacity: 1, pollMs: 1_000 })
      yield* Effect.fork(queue.run("LOW", 30_000, Effect.fail(rateLimited)))
      yield* TestClock.adjust(10)
      const refused = yield* Effect.either(queue.run("LOW", 30_000, Effect.fail(rateLimited)))
      assert.isTrue(Either.isLeft(refused) && refused.left._tag === "QueueTimeout")
      if (Either.isLeft(refused)) {
        assert.include(refused.left.message, "failover.queueCapacity")
        assert.include(refused.left.message, "1")
      }
    }))
  it.effect("with the server open, a request with no reason to wait fails at once with its own error", () =>
    Effect.gen(function* () {
      const queue = yield* WaitQueue.make({ capacity: 10, pollMs: 1_000 })
      const closing = yield* Deferred.make<void>()
      // Its only candidate is down until a probe due after its deadline: waiting cannot help.
      const down = new NoEligibleModel({ exclusions: [{ model: "m", reason: "down", kind: "unavailable", retryAfterMs: 60_000 }] })
      const fiber = yield* Effect.fork(Effect.either(queue.run("MEDIUM", 30_000, Effect.fail(down), undefined, Deferred.await(closing))))
      yield* TestClock.adjust(0)
      assert.isTrue(Option.isSome(yield* Fiber.poll(fiber)), "it ended with the clock still")
      const result = yield* Fiber.join(fiber)
      assert.isTrue(Either.isLeft(result) && result.left._tag === "NoEligibleModel")
      assert.strictEqual(yield* queue.size, 0)
    }))
  it.effect("with the server open, a full queue refuses in the request's own fiber: no race with the shutdown", () =>
    Effect.gen(function* () {
      // A full queue is overload: each refusal must stay as cheap as before the queue followed shutdowns
      // (a race forks three fibers per request, several times the CPU of the refusal itself).
      const queue = yield* WaitQueue.make({ capacity: 1, pollMs: 1_000 })
      const closing = yield* Deferred.make<void>()
      yield* Effect.fork(queue.run("CRITICAL", 30_000, Effect.fail(rateLimited), undefined, Deferred.await(closing)))
      yield* TestClock.adjust(10)
      const started = new Started()
      const refused = yield* Effect.supervised(
        Effect.either(queue.run("CRITICAL", 30_000, Effect.fail(rateLimited), undefined, Deferred.await(closing))),
        started
      )
      // Refused with the clock still (it ran in this fiber, which no time moves), with the ranking's retry hint.
      assert.isTrue(Either.isLeft(refused) && refused.left._tag === "QueueTimeout")
      if (Either.isLeft(refused) && refused.left._tag === "QueueTimeout") {
        assert.strictEqual(refused.left.waitedMs, 0)
        assert.strictEqual(refused.left.retryAfterMs, 60_000)
        assert.include(refused.left.message, "failover.queueCapacity")
      }
      assert.strictEqual(started.count, 0, "fibers started for the refusal")
      assert.strictEqual(yield* queue.size, 1, "the refused request never joined")
      yield* Deferred.succeed(closing, undefined)
    }))
})
