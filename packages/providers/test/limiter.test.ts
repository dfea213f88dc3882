import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Option } from "effect"
import { makeLimiter } from "../src/internal/limiter.js"
import { modelLimiters, providerLimiters } from "../src/internal/permits.js"

describe("Limiter", () => {
  it.effect("permits are taken synchronously while free; waiters get released permits in order", () =>
    Effect.gen(function*() {
      const limiter = makeLimiter(2)
      assert.isUndefined(limiter.tryTake())
      assert.isUndefined(limiter.tryTake())
      const order: Array<string> = []
      const waiter = (name: string) => Effect.fork(Effect.map(limiter.tryTake() ?? Effect.void, () => order.push(name)))
      const first = yield* waiter("first")
      const second = yield* waiter("second")
      yield* Effect.yieldNow()
      assert.deepStrictEqual(order, [])
      limiter.release()
      yield* Fiber.join(first)
      assert.deepStrictEqual(order, ["first"])
      assert.isTrue(Option.isNone(yield* Fiber.poll(second)))
      limiter.release()
      yield* Fiber.join(second)
      assert.deepStrictEqual(order, ["first", "second"])
    }))

  it.effect("an interrupted waiter holds no permit", () =>
    Effect.gen(function*() {
      const limiter = makeLimiter(1)
      assert.isUndefined(limiter.tryTake())
      const wait = limiter.tryTake()
      assert.isDefined(wait)
      const fiber = yield* Effect.fork(wait!)
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(fiber)
      limiter.release()
      // The only permit is free again: taken synchronously, and the next one waits.
      assert.isUndefined(limiter.tryTake())
      assert.isDefined(limiter.tryTake())
    }))

  it("a model's limiter is kept while in use, resized when its cap changes, and dropped once idle (no map growth)", () => {
    const limiterOf = modelLimiters()
    const first = limiterOf("m", 1)
    assert.isUndefined(first.tryTake())
    assert.strictEqual(limiterOf("m", 1), first)
    // A new cap: the same limiter, resized (the call in flight counts against it).
    const resized = limiterOf("m", 2)
    assert.strictEqual(resized, first)
    assert.strictEqual(resized.permits, 2)
    assert.isUndefined(resized.tryTake())
    assert.isDefined(resized.tryTake())
    first.release()
    first.release()
    // Idle (every permit back): the next call gets a fresh one, the old one is gone.
    assert.notStrictEqual(limiterOf("m", 2), resized)
  })
})

/**
 * A reload that changes `providers.<name>.maxConcurrency` (or PATCH of a
 * model's `rateLimits.concurrency`) while calls hold or wait for permits: the
 * new cap bounds every call in flight, old and new, and the waiting calls are
 * served under it.
 */
describe("a concurrency cap changed while calls are in flight", () => {
  /** A waiting take of `limiter`, forked; its fiber. */
  const waitOn = (wait: Effect.Effect<void> | undefined) => {
    assert.isDefined(wait, "the take should have waited")
    return Effect.fork(wait!)
  }

  it.effect("raised: the calls already waiting go at once, up to the new cap", () =>
    Effect.gen(function*() {
      const limiterFor = providerLimiters()
      assert.isUndefined(limiterFor(1).tryTake())
      const waiters = yield* Effect.all([waitOn(limiterFor(1).tryTake()), waitOn(limiterFor(1).tryTake())])
      yield* Effect.yieldNow()
      // The reload raises the cap to 3: the one call in flight leaves room for both waiting ones.
      const raised = limiterFor(3)
      yield* Effect.yieldNow()
      for (const waiter of waiters) assert.isTrue(Option.isSome(yield* Fiber.poll(waiter)), "a waiting call still waits under the raised cap")
      // Three in flight: the next call waits.
      assert.isDefined(raised.tryTake())
    }))

  it.effect("lowered: no new call starts until the calls in flight are under the new cap; every permit goes back", () =>
    Effect.gen(function*() {
      const limiterFor = providerLimiters()
      const before = limiterFor(3)
      for (let i = 0; i < 3; i++) assert.isUndefined(before.tryTake())
      // The reload lowers the cap to 1 while 3 calls are in flight.
      const after = limiterFor(1)
      const waiter = yield* waitOn(after.tryTake())
      before.release()
      before.release()
      yield* Effect.yieldNow()
      assert.isTrue(Option.isNone(yield* Fiber.poll(waiter)), "a new call went past the lowered cap")
      before.release()
      yield* Fiber.join(waiter)
      // One in flight (the waiter): the cap of 1 is full; once it ends the next call goes at once.
      assert.isDefined(limiterFor(1).tryTake())
      limiterFor(1).release()
      assert.isUndefined(limiterFor(1).tryTake())
    }))

  it.effect("a model's cap lowered by PATCH while its calls are in flight bounds the new ones too", () =>
    Effect.gen(function*() {
      const limiterOf = modelLimiters()
      const first = limiterOf("m", 2)
      assert.isUndefined(first.tryTake())
      assert.isUndefined(first.tryTake())
      const waiter = yield* waitOn(limiterOf("m", 1).tryTake())
      first.release()
      yield* Effect.yieldNow()
      assert.isTrue(Option.isNone(yield* Fiber.poll(waiter)), "a new call went past the lowered cap")
      first.release()
      yield* Fiber.join(waiter)
    }))
})
