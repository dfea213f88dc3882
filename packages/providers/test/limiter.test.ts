import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Option } from "effect"
import { makeLimiter } from "../src/internal/limiter.js"
import { modelLimiters } from "../src/internal/permits.js"

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

  it("a model's limiter is kept while in use, rebuilt when its cap changes, and dropped once idle (no map growth)", () => {
    const limiterOf = modelLimiters()
    const first = limiterOf("m", 1)
    assert.isUndefined(first.tryTake())
    assert.strictEqual(limiterOf("m", 1), first)
    // A new cap: a new limiter; the old one's last release leaves the new one in place.
    const resized = limiterOf("m", 2)
    assert.notStrictEqual(resized, first)
    assert.strictEqual(resized.permits, 2)
    first.release()
    assert.strictEqual(limiterOf("m", 2), resized)
    // Idle (every permit back): the next call gets a fresh one, the old one is gone.
    assert.isUndefined(resized.tryTake())
    resized.release()
    assert.notStrictEqual(limiterOf("m", 2), resized)
  })
})
