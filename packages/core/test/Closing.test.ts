/**
 * `Closing.untilClosing`, the race both waits the server's shutdown ends (the
 * gateway's queue, a provider's concurrency permit): the wait wins, the
 * shutdown wins, the shutdown had already begun, and a value the wait got
 * just as it lost is given back rather than dropped.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Either, Fiber, Option, Ref, TestClock } from "effect"
import { untilClosing } from "../src/Closing.js"

const closed = Effect.fail("closed" as const)

/** A wait of `ms` for `value`, telling `interrupted` when it is interrupted. */
const waitFor = (ms: number, value: number, interrupted: Ref.Ref<boolean>) =>
  Effect.as(Effect.sleep(ms), value).pipe(Effect.onInterrupt(() => Ref.set(interrupted, true)))

describe("Closing.untilClosing", () => {
  it.effect("the wait that ends first is the result; a shutdown after it changes nothing", () =>
    Effect.gen(function* () {
      const closing = yield* Deferred.make<void>()
      const interrupted = yield* Ref.make(false)
      const fiber = yield* Effect.fork(Effect.either(untilClosing(waitFor(1_000, 7, interrupted), Deferred.await(closing), closed)))
      yield* TestClock.adjust(1_000)
      assert.deepStrictEqual(yield* Fiber.join(fiber), Either.right(7))
      yield* Deferred.succeed(closing, undefined)
      assert.isFalse(yield* Ref.get(interrupted))
    }))

  it.effect("the wait's own failure is the result", () =>
    Effect.gen(function* () {
      const result = yield* Effect.either(untilClosing(Effect.fail("no candidate" as const), Effect.never, closed))
      assert.deepStrictEqual(result, Either.left("no candidate"))
    }))

  it.effect("the shutdown beginning first interrupts the wait and fails with `closed` at once", () =>
    Effect.gen(function* () {
      const closing = yield* Deferred.make<void>()
      const interrupted = yield* Ref.make(false)
      const fiber = yield* Effect.fork(Effect.either(untilClosing(waitFor(30_000, 7, interrupted), Deferred.await(closing), closed)))
      yield* TestClock.adjust(500)
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)), "still waiting before the shutdown")
      yield* Deferred.succeed(closing, undefined)
      // No time passes: it does not wait for its deadline.
      assert.deepStrictEqual(yield* Fiber.join(fiber), Either.left("closed" as const))
      assert.isTrue(yield* Ref.get(interrupted), "the wait was interrupted")
    }))

  it.effect("a shutdown already begun before the wait starts fails it at once", () =>
    Effect.gen(function* () {
      const closing = yield* Deferred.make<void>()
      yield* Deferred.succeed(closing, undefined)
      const served = yield* Ref.make(false)
      const wait = Effect.zipRight(Effect.sleep(30_000), Ref.set(served, true))
      const fiber = yield* Effect.fork(Effect.either(untilClosing(wait, Deferred.await(closing), closed)))
      yield* TestClock.adjust(0)
      const ended = yield* Fiber.poll(fiber)
      assert.isTrue(Option.isSome(ended), "it ended with the clock still")
      assert.deepStrictEqual(yield* Fiber.join(fiber), Either.left("closed" as const))
      yield* TestClock.adjust(60_000)
      assert.isFalse(yield* Ref.get(served), "the wait never ran to its end")
    }))

  it.effect("a value the wait got just as the shutdown won goes to `release`, not lost", () =>
    Effect.gen(function* () {
      const released = yield* Ref.make<ReadonlyArray<number>>([])
      const closing = yield* Deferred.make<void>()
      // In a masked region, as a provider call waits for its permit: a wait not interrupted before it has
      // its value (a permit handed over just as the race is lost).
      const wait = Effect.as(Effect.sleep(1_000), 7)
      const fiber = yield* Effect.fork(Effect.either(Effect.uninterruptibleMask(() =>
        untilClosing(wait, Deferred.await(closing), closed, (n) => Ref.update(released, (all) => [...all, n]))
      )))
      yield* TestClock.adjust(500)
      yield* Deferred.succeed(closing, undefined)
      yield* TestClock.adjust(500)
      assert.deepStrictEqual(yield* Fiber.join(fiber), Either.left("closed" as const))
      assert.deepStrictEqual(yield* Ref.get(released), [7])
    }))

  it.effect("the caller's interruption ends the wait, even in a masked region", () =>
    Effect.gen(function* () {
      const released = yield* Ref.make<ReadonlyArray<number>>([])
      const interrupted = yield* Ref.make(false)
      const fiber = yield* Effect.fork(Effect.uninterruptibleMask((restore) =>
        untilClosing(restore(waitFor(30_000, 7, interrupted)), Effect.never, closed, (n) => Ref.update(released, (all) => [...all, n]))
      ))
      yield* TestClock.adjust(500)
      yield* Fiber.interrupt(fiber)
      assert.isTrue(yield* Ref.get(interrupted), "the wait was interrupted")
      assert.deepStrictEqual(yield* Ref.get(released), [])
    }))
})
