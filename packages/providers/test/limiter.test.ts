import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Option } from "effect"
import { makeLimiter } from "../src/internal/limiter.js"

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
})
