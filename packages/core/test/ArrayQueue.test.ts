/**
 * The record writer's array-backed queue keeps Effect's queue semantics:
 * first in, first out across batches and compaction, its capacity, and the
 * back-pressure (an offer to a full queue waits for room) and dropping
 * strategies over it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Queue } from "effect"
import { arrayBacking } from "../src/RecordWriter/ArrayQueue.js"

describe("ArrayQueue", () => {
  it("gives elements back in order, in batches of at most the limit, across compaction", () => {
    const queue = arrayBacking<number>(5_000)
    const taken: Array<number> = []
    let next = 0
    // Interleaved offers and takes, so the taken slots lead the array past the compaction point.
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 300; i++) assert.isTrue(queue.offer(next++))
      taken.push(...Chunk.toReadonlyArray(queue.pollUpTo(250)))
      assert.strictEqual(queue.length(), next - taken.length)
    }
    for (let item = queue.poll(-1); item !== -1; item = queue.poll(-1)) taken.push(item)
    assert.deepStrictEqual(taken, Array.from({ length: next }, (_, i) => i))
    assert.strictEqual(queue.length(), 0)
    assert.isTrue(Chunk.isEmpty(queue.pollUpTo(10)))
  })

  it("refuses an element past its capacity and hands back what offerAll could not take", () => {
    const queue = arrayBacking<string>(2)
    assert.strictEqual(queue.capacity(), 2)
    assert.deepStrictEqual(Chunk.toReadonlyArray(queue.offerAll(["a", "b", "c", "d"])), ["c", "d"])
    assert.isFalse(queue.offer("e"))
    assert.strictEqual(queue.poll(undefined), "a")
    assert.isTrue(queue.offer("f"))
    assert.deepStrictEqual(Chunk.toReadonlyArray(queue.pollUpTo(10)), ["b", "f"])
  })

  it.effect("under the back-pressure strategy an offer to a full queue waits for room; under dropping it is refused", () =>
    Effect.gen(function*() {
      const waiting = yield* Queue.make(arrayBacking<number>(2), Queue.backPressureStrategy())
      yield* Queue.offerAll(waiting, [1, 2])
      const third = yield* Effect.fork(Queue.offer(waiting, 3))
      yield* Effect.yieldNow()
      assert.isNull(third.unsafePoll())
      assert.deepStrictEqual(Chunk.toReadonlyArray(yield* Queue.takeUpTo(waiting, 1)), [1])
      assert.isTrue(yield* Fiber.join(third))
      assert.deepStrictEqual(Chunk.toReadonlyArray(yield* Queue.takeAll(waiting)), [2, 3])

      const dropping = yield* Queue.make(arrayBacking<number>(1), Queue.droppingStrategy())
      assert.isTrue(yield* Queue.offer(dropping, 1))
      assert.isFalse(yield* Queue.offer(dropping, 2))
      assert.deepStrictEqual(Chunk.toReadonlyArray(yield* Queue.takeAll(dropping)), [1])
    }))
})
