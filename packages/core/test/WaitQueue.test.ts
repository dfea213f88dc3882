import { assert, describe, it } from "@effect/vitest"
import { NoEligibleModel } from "@modelgate/domain/Errors"
import { Clock, Effect, Either, Fiber, Ref, TestClock } from "effect"
import * as WaitQueue from "../src/Gateway/WaitQueue.js"
import { forkInterruptedAt } from "./InterruptAtOp.js"

const rateLimited = (retryAfterMs: number) =>
  new NoEligibleModel({ exclusions: [{ model: "m", reason: "rate limited", kind: "rate_limited" }], retryAfterMs })

/** An attempt that fails until `open` is set, then succeeds with `value`. */
const gate = (open: Ref.Ref<boolean>, value: string, retryAfterMs = 1_000) =>
  Effect.flatMap(Ref.get(open), (ok) => (ok ? Effect.succeed(value) : Effect.fail(rateLimited(retryAfterMs))))

describe("WaitQueue", () => {
  it.effect("a request waits while every candidate is rate limited and runs when one frees up", () =>
    Effect.gen(function* () {
      const queue = yield* WaitQueue.make({ capacity: 10, pollMs: 1_000 })
      const open = yield* Ref.make(false)
      const fiber = yield* Effect.fork(queue.run("MEDIUM", 30_000, gate(open, "served")))
      yield* TestClock.adjust(5_000)
      assert.strictEqual(yield* queue.size, 1)
      yield* Ref.set(open, true)
      yield* TestClock.adjust(1_000)
      assert.strictEqual(yield* Fiber.join(fiber), "served")
      assert.strictEqual(yield* queue.size, 0)
    }))

  it.effect("the deadline ends the wait with QueueTimeout naming the reason", () =>
    Effect.gen(function* () {
      const queue = yield* WaitQueue.make({ capacity: 10, pollMs: 1_000 })
      const open = yield* Ref.make(false)
      const fiber = yield* Effect.fork(Effect.either(queue.run("HIGH", 3_000, gate(open, "never"))))
      yield* TestClock.adjust(4_000)
      const result = yield* Fiber.join(fiber)
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left._tag, "QueueTimeout")
        assert.include(result.left.message, "rate limited")
      }
    }))

  it.effect("the deadline's QueueTimeout keeps the last ranking's earliest known time, counted from the deadline", () =>
    Effect.gen(function* () {
      const queue = yield* WaitQueue.make({ capacity: 10, pollMs: 1_000 })
      // one candidate rate limited until 20 s, another unhealthy with no probe due: each ranking says "20 s from now"
      const ranking = Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.fail(
          new NoEligibleModel({
            exclusions: [
              { model: "a", reason: "rate limited", kind: "rate_limited", retryAfterMs: 20_000 - now },
              { model: "b", reason: "unavailable: 3 probes failed", kind: "unavailable" }
            ],
            retryAfterMs: 20_000 - now
          })
        ))
      const fiber = yield* Effect.fork(Effect.either(queue.run("MEDIUM", 3_000, ranking)))
      yield* TestClock.adjust(4_000)
      const result = yield* Fiber.join(fiber)
      assert.isTrue(Either.isLeft(result) && result.left._tag === "QueueTimeout")
      if (Either.isLeft(result) && result.left._tag === "QueueTimeout") assert.strictEqual(result.left.retryAfterMs, 17_000)
    }))

  it.effect("the deadline's QueueTimeout has no retry time when the last ranking knew none", () =>
    Effect.gen(function* () {
      const queue = yield* WaitQueue.make({ capacity: 10, pollMs: 1_000 })
      const unhealthy = new NoEligibleModel({ exclusions: [{ model: "b", reason: "unavailable: 3 probes failed", kind: "unavailable" }] })
      const fiber = yield* Effect.fork(Effect.either(queue.run("MEDIUM", 3_000, Effect.fail(unhealthy))))
      yield* TestClock.adjust(4_000)
      const result = yield* Fiber.join(fiber)
      assert.isTrue(Either.isLeft(result) && result.left._tag === "QueueTimeout")
      if (Either.isLeft(result) && result.left._tag === "QueueTimeout") assert.isUndefined(result.left.retryAfterMs)
    }))

  it.effect("permanent exclusions and budgets fail at once, without waiting", () =>
    Effect.gen(function* () {
      const queue = yield* WaitQueue.make({ capacity: 10, pollMs: 1_000 })
      const permanent = new NoEligibleModel({ exclusions: [{ model: "m", reason: "lacks required capabilities: vision", kind: "request" }] })
      const result = yield* Effect.either(queue.run("MEDIUM", 30_000, Effect.fail(permanent)))
      assert.isTrue(Either.isLeft(result) && result.left._tag === "NoEligibleModel")
      assert.strictEqual(yield* queue.size, 0)
    }))

  it.effect("a full queue refuses at once", () =>
    Effect.gen(function* () {
      const queue = yield* WaitQueue.make({ capacity: 2, pollMs: 1_000 })
      const open = yield* Ref.make(false)
      yield* Effect.fork(queue.run("LOW", 30_000, gate(open, "a")))
      yield* Effect.fork(queue.run("LOW", 30_000, gate(open, "b")))
      yield* TestClock.adjust(10)
      const third = yield* Effect.either(queue.run("LOW", 30_000, gate(open, "c", 2_500)))
      assert.isTrue(Either.isLeft(third) && third.left._tag === "QueueTimeout")
      if (Either.isLeft(third) && third.left._tag === "QueueTimeout") {
        assert.include(third.left.message, "queue full")
        // Its ranking knew when a candidate has room: the 503's Retry-After, so clients do not retry at once.
        assert.strictEqual(third.left.retryAfterMs, 2_500)
      }
    }))

  it.effect("when room frees up, CRITICAL waiters go before LOW ones that arrived earlier", () =>
    Effect.gen(function* () {
      const queue = yield* WaitQueue.make({ capacity: 10, pollMs: 1_000 })
      const open = yield* Ref.make(false)
      const served = yield* Ref.make<ReadonlyArray<string>>([])
      // one slot: the first request to find it open takes it and closes it again
      const takeSlot = (name: string) =>
        Effect.flatMap(Ref.getAndSet(open, false), (wasOpen) =>
          wasOpen ? Effect.as(Ref.update(served, (s) => [...s, name]), name) : Effect.fail(rateLimited(1_000))
        )
      const low = yield* Effect.fork(queue.run("LOW", 60_000, takeSlot("low")))
      yield* TestClock.adjust(100)
      const critical = yield* Effect.fork(queue.run("CRITICAL", 60_000, takeSlot("critical")))
      yield* TestClock.adjust(100)
      yield* Ref.set(open, true)
      yield* TestClock.adjust(2_000)
      assert.deepStrictEqual(yield* Ref.get(served), ["critical"])
      yield* Ref.set(open, true)
      yield* TestClock.adjust(2_000)
      assert.deepStrictEqual(yield* Ref.get(served), ["critical", "low"])
      yield* Fiber.join(low)
      yield* Fiber.join(critical)
    }))

  it.effect("a CRITICAL waiter whose own candidates are still out does not hold back a LOW one whose candidate has room", () =>
    Effect.gen(function* () {
      const queue = yield* WaitQueue.make({ capacity: 10, pollMs: 1_000 })
      const served = yield* Ref.make<ReadonlyArray<string>>([])
      // CRITICAL needs a model that is down (its probe due in 20 s); LOW one that is rate limited and has room at 2 s.
      const down = new NoEligibleModel({ exclusions: [{ model: "y", reason: "unavailable", kind: "unavailable", retryAfterMs: 20_000 }] })
      const critical = yield* Effect.fork(Effect.either(queue.run("CRITICAL", 30_000, Effect.fail(down))))
      yield* TestClock.adjust(100)
      const low = yield* Effect.fork(queue.run("LOW", 30_000, Effect.flatMap(Clock.currentTimeMillis, (now) =>
        now >= 2_000 ? Effect.as(Ref.update(served, (s) => [...s, "low"]), "low") : Effect.fail(rateLimited(2_000 - now))
      )))
      yield* TestClock.adjust(4_000)
      assert.deepStrictEqual(yield* Ref.get(served), ["low"], "LOW served within a poll of its room, not at its deadline")
      assert.strictEqual(yield* Fiber.join(low), "low")
      assert.strictEqual(yield* queue.size, 1)
      // Its model still down (the double's probe always 20 s away): it fails once the probe would come too late.
      yield* TestClock.adjust(30_000)
      assert.isTrue(Either.isLeft(yield* Fiber.join(critical)))
    }))

  it.effect("an unavailable model whose next probe comes after the deadline fails at once; one due before it is waited for", () =>
    Effect.gen(function* () {
      const queue = yield* WaitQueue.make({ capacity: 10, pollMs: 1_000 })
      const unavailable = (retryAfterMs: number) =>
        new NoEligibleModel({ exclusions: [{ model: "m", reason: "unavailable", kind: "unavailable", retryAfterMs }], retryAfterMs })
      // probe in 60 s, deadline 30 s: nothing can change in time, the answer comes without any wait
      const late = yield* Effect.either(queue.run("MEDIUM", 30_000, Effect.fail(unavailable(60_000))))
      assert.isTrue(Either.isLeft(late) && late.left._tag === "NoEligibleModel")
      assert.strictEqual(yield* queue.size, 0)
      // probe in 10 s: the request waits, and runs once the probe brought the model back
      const open = yield* Ref.make(false)
      const soon = Effect.flatMap(Ref.get(open), (ok) => (ok ? Effect.succeed("served") : Effect.fail(unavailable(10_000))))
      const fiber = yield* Effect.fork(queue.run("MEDIUM", 30_000, soon))
      yield* TestClock.adjust(5_000)
      assert.strictEqual(yield* queue.size, 1)
      yield* Ref.set(open, true)
      yield* TestClock.adjust(5_000)
      assert.strictEqual(yield* Fiber.join(fiber), "served")
    }))

  it.effect("a wait ends early when the model's next probe moves past the deadline", () =>
    Effect.gen(function* () {
      const queue = yield* WaitQueue.make({ capacity: 10, pollMs: 1_000 })
      const probeIn = yield* Ref.make(2_000)
      const attempt = Effect.flatMap(Ref.get(probeIn), (retryAfterMs) =>
        Effect.fail(new NoEligibleModel({ exclusions: [{ model: "m", reason: "unavailable", kind: "unavailable", retryAfterMs }] }))
      )
      const fiber = yield* Effect.fork(Effect.either(queue.run("MEDIUM", 30_000, attempt)))
      yield* TestClock.adjust(1_000)
      // the probe failed, the next one backs off to 60 s: past the deadline
      yield* Ref.set(probeIn, 60_000)
      yield* TestClock.adjust(1_000)
      const result = yield* Fiber.join(fiber)
      assert.isTrue(Either.isLeft(result) && result.left._tag === "NoEligibleModel")
      assert.strictEqual(yield* queue.size, 0)
    }))

  // Live clock: each waiter is interrupted before any wait elapses (nothing waits on it), and an interruption
  // swept into the TestClock's own sleep bookkeeping would break the TestClock, not the queue.
  it.live("a waiter interrupted at any step leaves the queue (its place is not lost for good)", () =>
    Effect.gen(function* () {
      // Every step from the first ranking to the wait itself: a client leaving, a timeout or a shutdown may land on any.
      const left: Array<number> = []
      for (let n = 1; ; n++) {
        const queue = yield* WaitQueue.make({ capacity: 1, pollMs: 1_000 })
        const { fiber, reached } = yield* forkInterruptedAt(queue.run("CRITICAL", 30_000, Effect.fail(rateLimited(1_000))), n)
        const waiting = yield* queue.size
        yield* Fiber.interrupt(fiber)
        if ((yield* queue.size) !== 0) left.push(n)
        if (!reached) {
          assert.strictEqual(waiting, 1, "the sweep went as far as the wait itself")
          break
        }
      }
      assert.deepStrictEqual(left, [], "steps at which an interrupted waiter stayed in the queue")
    }))
})
