/**
 * A stream whose opening carries none of the answer (a role-only chunk, as
 * OpenAI and Anthropic open theirs) is held back so that a failure can still
 * fail over, but only for `hold.ms`: a model that thinks for a minute before
 * its first word must not leave its client (and the proxies in between) with
 * no byte at all for that minute. After the hold the opening is delivered and
 * the rest follows as it comes; a failure before the hold runs out still
 * fails the peel (the gateway fails over), one after it ends the stream.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ChatChunk } from "@modelgate/domain/Chat"
import { type ProviderError, StreamInterrupted } from "@modelgate/domain/ProviderError"
import { Chunk, Clock, Effect, Either, Exit, Fiber, Option, Stream, TestClock } from "effect"
import * as Streaming from "../src/Gateway/Streaming.js"
import { textChunk } from "./ChunkFixtures.js"

const empty = (): ProviderError => new StreamInterrupted({ provider: "p", model: "m", detail: "empty" })
const overloaded = (): ProviderError => new StreamInterrupted({ provider: "p", model: "m", detail: "overloaded" })

/** The role-only opening: a chunk with an empty delta and no finish reason. */
const opening = textChunk(undefined)

/**
 * An upstream as a bare pull: each batch arrives at its time (ms after the
 * start, on the test clock), then `end` at its time (a failure, or the end).
 */
const timedUpstream = (
  batches: ReadonlyArray<readonly [number, ReadonlyArray<ChatChunk>]>,
  end: readonly [number, ProviderError | undefined]
) => {
  let i = 0
  const state = { closes: 0, interruptedPulls: 0 }
  const until = (at: number) => Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sleep(Math.max(0, at - now)))
  const pull = Effect.suspend((): Effect.Effect<Chunk.Chunk<ChatChunk>, Option.Option<ProviderError>> => {
    const next = batches[i]
    const waited = next !== undefined
      ? Effect.as(until(next[0]), Chunk.unsafeFromArray(next[1]))
      : Effect.zipRight(until(end[0]), Effect.fail(end[1] === undefined ? Option.none() : Option.some(end[1])))
    return Effect.onInterrupt(Effect.tap(waited, () => { i++ }), () => Effect.sync(() => { state.interruptedPulls++ }))
  })
  const close = Effect.sync(() => {
    state.closes++
  })
  return { open: () => ({ pull, close }), state }
}

/** The `Stream` form, never read: the bare pull is. */
const unused = Stream.die("the Stream form is not read")

const hold = (ms: number) => Effect.map(Effect.clock, (clock): Streaming.Hold => ({ clock, ms }))

/** The text of every chunk of a batch. */
const texts = (batch: Chunk.Chunk<ChatChunk>) => Chunk.toReadonlyArray(batch).map((c) => c.choices[0]?.delta.content ?? "")

describe("a stream's role-only opening is held back at most the hold", () => {
  it.effect("a first word after the hold: the opening is delivered when the hold runs out, the word when it comes", () =>
    Effect.gen(function*() {
      const up = timedUpstream([[0, [opening]], [30_000, [textChunk("Hi")]]], [31_000, undefined])
      const peeling = yield* Effect.fork(Effect.flatMap(hold(10_000), (h) => Streaming.peelFirst(unused, empty, up.open, h)))
      yield* TestClock.adjust(9_999)
      assert.isNull(yield* Fiber.poll(peeling).pipe(Effect.map(Option.getOrNull)))
      yield* TestClock.adjust(1)
      const peeled = yield* Fiber.join(peeling)
      assert.deepStrictEqual(texts(peeled.first), [""])
      const rest = yield* Effect.fork(peeled.pull)
      yield* TestClock.adjust(19_999)
      assert.isNull(yield* Fiber.poll(rest).pipe(Effect.map(Option.getOrNull)))
      yield* TestClock.adjust(1)
      assert.deepStrictEqual(texts(yield* Fiber.join(rest)), ["Hi"])
      const end = yield* Effect.fork(Effect.either(peeled.pull))
      yield* TestClock.adjust(1_000)
      const ended = yield* Fiber.join(end)
      assert.isTrue(Either.isLeft(ended) && Option.isNone(ended.left))
    }))

  it.effect("a first word within the hold: it comes with the opening, as without a hold", () =>
    Effect.gen(function*() {
      const up = timedUpstream([[0, [opening]], [3_000, [textChunk("Hi")]]], [4_000, undefined])
      const peeling = yield* Effect.fork(Effect.flatMap(hold(10_000), (h) => Streaming.peelFirst(unused, empty, up.open, h)))
      yield* TestClock.adjust(3_000)
      const peeled = yield* Fiber.join(peeling)
      assert.deepStrictEqual(texts(peeled.first), ["", "Hi"])
    }))

  it.effect("a failure within the hold fails the peel (the gateway can still fail over) and closes the upstream", () =>
    Effect.gen(function*() {
      const up = timedUpstream([[0, [opening]]], [5_000, overloaded()])
      const peeling = yield* Effect.fork(Effect.flatMap(hold(10_000), (h) => Effect.either(Streaming.peelFirst(unused, empty, up.open, h))))
      yield* TestClock.adjust(5_000)
      const failed = yield* Fiber.join(peeling)
      assert.isTrue(Either.isLeft(failed) && failed.left.message.includes("overloaded"))
      assert.strictEqual(up.state.closes, 1)
    }))

  it.effect("a failure after the hold ends the delivered stream with it", () =>
    Effect.gen(function*() {
      const up = timedUpstream([[0, [opening]]], [20_000, overloaded()])
      const peeling = yield* Effect.fork(Effect.flatMap(hold(10_000), (h) => Streaming.peelFirst(unused, empty, up.open, h)))
      yield* TestClock.adjust(10_000)
      const peeled = yield* Fiber.join(peeling)
      const rest = yield* Effect.fork(Effect.either(peeled.pull))
      yield* TestClock.adjust(10_000)
      const failed = yield* Fiber.join(rest)
      assert.isTrue(Either.isLeft(failed) && Option.isSome(failed.left) && failed.left.value.message.includes("overloaded"))
    }))

  it.effect("closing a held stream before its next batch stops the pull under way and closes the upstream", () =>
    Effect.gen(function*() {
      const up = timedUpstream([[0, [opening]], [60_000, [textChunk("late")]]], [61_000, undefined])
      const peeling = yield* Effect.fork(Effect.flatMap(hold(10_000), (h) => Streaming.peelFirst(unused, empty, up.open, h)))
      yield* TestClock.adjust(10_000)
      const peeled = yield* Fiber.join(peeling)
      yield* peeled.close
      assert.strictEqual(up.state.interruptedPulls, 1)
      assert.strictEqual(up.state.closes, 1)
    }))

  it.effect("a hold of 0 delivers the opening at once", () =>
    Effect.gen(function*() {
      const up = timedUpstream([[0, [opening]], [500, [textChunk("Hi")]]], [600, undefined])
      const peeled = yield* Effect.flatMap(hold(0), (h) => Streaming.peelFirst(unused, empty, up.open, h))
      assert.deepStrictEqual(texts(peeled.first), [""])
      yield* peeled.close
    }))

  it.effect("interrupting the peel while held interrupts the pull under way and closes the upstream", () =>
    Effect.gen(function*() {
      const up = timedUpstream([[0, [opening]], [60_000, [textChunk("late")]]], [61_000, undefined])
      const peeling = yield* Effect.fork(Effect.flatMap(hold(10_000), (h) => Streaming.peelFirst(unused, empty, up.open, h)))
      yield* TestClock.adjust(5_000)
      assert.isTrue(Exit.isInterrupted(yield* Fiber.interrupt(peeling)))
      assert.strictEqual(up.state.interruptedPulls, 1)
      assert.strictEqual(up.state.closes, 1)
    }))
})
