/**
 * A provider's first network read may carry the first text and the failure
 * that ends the stream (an error event right after it, a reset): the adapter
 * gives the text and says the stream is `failing` (`ProviderPull.failing`).
 * Nothing went out to the client yet, so the peel fails with the stream's
 * failure (the gateway fails over) instead of committing the client to a
 * doomed partial answer. A healthy first text still goes out at once: the
 * next read is not waited for.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ChatChunk } from "@modelgate/domain/Chat"
import { type ProviderError, StreamInterrupted } from "@modelgate/domain/ProviderError"
import { Chunk, Effect, Either, Fiber, Option, Stream, TestClock } from "effect"
import * as Streaming from "../src/Gateway/Streaming.js"
import { textChunk } from "./ChunkFixtures.js"

const empty = (): ProviderError => new StreamInterrupted({ provider: "p", model: "m", detail: "empty" })
const overloaded = (): ProviderError => new StreamInterrupted({ provider: "p", model: "m", detail: "overloaded" })

/** The role-only opening: a chunk with an empty delta and no finish reason. */
const opening = textChunk(undefined)

/**
 * An upstream as a bare pull, read by read: each read gives its batch and
 * says whether the stream's failure came with it; after the last read, the
 * stream fails with `end` (or ends), or never answers (`"never"`: the next
 * read has not come).
 */
const upstream = (reads: ReadonlyArray<{ readonly batch: ReadonlyArray<ChatChunk>; readonly failing?: boolean }>, end: ProviderError | undefined | "never") => {
  const state = { pulls: 0, closes: 0 }
  const pull = Effect.suspend((): Effect.Effect<Chunk.Chunk<ChatChunk>, Option.Option<ProviderError>> => {
    const read = reads[state.pulls++]
    if (read !== undefined) return Effect.succeed(Chunk.unsafeFromArray(read.batch))
    return end === "never" ? Effect.never : Effect.fail(end === undefined ? Option.none() : Option.some(end))
  })
  const failing = () => reads[state.pulls - 1]?.failing === true
  const close = Effect.sync(() => {
    state.closes++
  })
  return { open: () => ({ pull, close, failing }), state }
}

/** The `Stream` form, never read: the bare pull is. */
const unused = Stream.die("the Stream form is not read")

const peel = (up: ReturnType<typeof upstream>, holdMs = 10_000) =>
  Effect.flatMap(Effect.clock, (clock) => Effect.either(Streaming.peelFirst(unused, empty, up.open, { clock, ms: holdMs })))

const texts = (batch: Chunk.Chunk<ChatChunk>) => Chunk.toReadonlyArray(batch).map((c) => c.choices[0]?.delta.content ?? "")

describe("the first text and the stream's failure in one read", () => {
  it.effect("fail the peel with the stream's failure (the gateway fails over) and close the upstream", () =>
    Effect.gen(function*() {
      const up = upstream([{ batch: [opening, textChunk("Doomed")], failing: true }], overloaded())
      const peeled = yield* peel(up)
      assert.isTrue(Either.isLeft(peeled) && peeled.left.message.includes("overloaded"))
      assert.strictEqual(up.state.closes, 1)
    }))

  it.effect("also when the opening came in an earlier read (held back) and the text and failure in the next", () =>
    Effect.gen(function*() {
      const up = upstream([{ batch: [opening] }, { batch: [textChunk("Doomed")], failing: true }], overloaded())
      const peeled = yield* peel(up)
      assert.isTrue(Either.isLeft(peeled) && peeled.left.message.includes("overloaded"))
    }))

  it.effect("chunks still owed by that read come first, then the failure: the peel fails", () =>
    Effect.gen(function*() {
      const up = upstream([{ batch: [textChunk("Doo")], failing: true }, { batch: [textChunk("med")], failing: true }], overloaded())
      const peeled = yield* peel(up)
      assert.isTrue(Either.isLeft(peeled) && peeled.left.message.includes("overloaded"))
      assert.strictEqual(up.state.pulls, 3)
    }))

  it.effect("a break that lost nothing (the stream ends after all): the whole read is the opening, then the end", () =>
    Effect.gen(function*() {
      const up = upstream([{ batch: [textChunk("Hi")], failing: true }, { batch: [textChunk(undefined, "stop")] }], undefined)
      const peeled = yield* peel(up)
      assert.isTrue(Either.isRight(peeled))
      if (Either.isLeft(peeled)) return
      assert.deepStrictEqual(texts(peeled.right.first), ["Hi", ""])
      const next = yield* Effect.either(peeled.right.pull)
      assert.isTrue(Either.isLeft(next) && Option.isNone(next.left))
      yield* peeled.right.close
    }))

  it.effect("with a hold of 0, a role-only opening and the failure in one read: the peel fails (nothing went out yet)", () =>
    Effect.gen(function*() {
      const up = upstream([{ batch: [opening], failing: true }], overloaded())
      const peeled = yield* peel(up, 0)
      assert.isTrue(Either.isLeft(peeled) && peeled.left.message.includes("overloaded"))
    }))

  it.effect("control: a healthy first text is peeled at once, the next read not waited for", () =>
    Effect.gen(function*() {
      const up = upstream([{ batch: [opening, textChunk("Hi")] }], "never")
      const peeled = yield* peel(up)
      assert.isTrue(Either.isRight(peeled))
      if (Either.isLeft(peeled)) return
      assert.deepStrictEqual(texts(peeled.right.first), ["", "Hi"])
      assert.strictEqual(up.state.pulls, 1)
      yield* peeled.right.close
    }))

  it.effect("control: once the hold let the opening out, a text and failure in one read end the stream (no failover)", () =>
    Effect.gen(function*() {
      let release: (() => void) | undefined
      const state = { pulls: 0 }
      const pull = Effect.suspend((): Effect.Effect<Chunk.Chunk<ChatChunk>, Option.Option<ProviderError>> => {
        state.pulls++
        if (state.pulls === 1) return Effect.succeed(Chunk.of(opening))
        if (state.pulls === 2) return Effect.async((resume) => {
          release = () => resume(Effect.succeed(Chunk.of(textChunk("Sent"))))
        })
        return Effect.fail(Option.some(overloaded()))
      })
      const open = () => ({ pull, close: Effect.void, failing: () => state.pulls >= 2 })
      const peeling = yield* Effect.fork(Effect.flatMap(Effect.clock, (clock) => Streaming.peelFirst(unused, empty, open, { clock, ms: 10_000 })))
      yield* TestClock.adjust(10_000)
      const peeled = yield* Fiber.join(peeling)
      assert.deepStrictEqual(texts(peeled.first), [""])
      release?.()
      assert.deepStrictEqual(texts(yield* peeled.pull), ["Sent"])
      const failed = yield* Effect.either(peeled.pull)
      assert.isTrue(Either.isLeft(failed) && Option.isSome(failed.left))
      yield* peeled.close
    }))
})
