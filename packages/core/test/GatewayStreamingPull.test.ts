/**
 * `peelFirst` over a provider stream offered as a bare pull
 * (`StreamResult.open`): the same delivery as over its `Stream` (chunks,
 * summary, the error after the first chunk), and the pull's `close` runs on
 * every exit (end, failure before or after the first chunk, interruption
 * while waiting for the first chunk or mid-stream), once as far as the
 * upstream sees it.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ChatChunk } from "@modelgate/domain/Chat"
import { type ProviderError, StreamInterrupted } from "@modelgate/domain/ProviderError"
import { Chunk, Effect, Either, Exit, Fiber, Option, Stream } from "effect"
import * as fc from "fast-check"
import * as Streaming from "../src/Gateway/Streaming.js"
import { textChunk } from "./ChunkFixtures.js"


const cut = (): ProviderError => new StreamInterrupted({ provider: "p", model: "m", detail: "cut" })
const empty = (): ProviderError => new StreamInterrupted({ provider: "p", model: "m", detail: "empty" })

/** An upstream as a bare pull of `batches` (then `failure`, or the end), waiting forever before batch `hangAt` when set. */
const upstream = (batches: ReadonlyArray<ReadonlyArray<ChatChunk>>, failure?: ProviderError, hangAt?: number) => {
  let i = 0
  const state = { closes: 0, closed: false }
  const pull = Effect.suspend((): Effect.Effect<Chunk.Chunk<ChatChunk>, Option.Option<ProviderError>> => {
    if (state.closed) return Effect.die("pulled after close")
    if (hangAt === i) return Effect.never
    if (i < batches.length) return Effect.succeed(Chunk.unsafeFromArray(batches[i++]!))
    return Effect.fail(failure === undefined ? Option.none() : Option.some(failure))
  })
  const close = Effect.sync(() => {
    if (!state.closed) state.closes++
    state.closed = true
  })
  // The `Stream` form, derived from the same pull (as the adapters derive theirs).
  const stream = Stream.repeatEffectChunkOption(pull).pipe(Stream.ensuring(close))
  return { open: () => ({ pull, close }), stream, state }
}

/** Deliver a peeled stream through its bare pull, as the SSE writer does; the outcome and the summary. */
const drain = (peeled: Streaming.Peeled<ProviderError>) =>
  Effect.gen(function*() {
    const ends: Array<[Streaming.StreamSummary, boolean]> = []
    const clock = yield* Effect.clock
    const { close, pull } = Streaming.delivery(peeled, {
      clock,
      startedAt: 0,
      rename: (c) => ({ ...c, id: "chatcmpl-1" }),
      onStart: () => true,
      tooLate: cut,
      onEnd: (summary, exit) => Effect.sync(() => ends.push([summary, Exit.isSuccess(exit)]))
    }).open()
    const out: Array<string> = []
    let end = "end"
    for (;;) {
      const next = yield* Effect.either(pull)
      if (Either.isLeft(next)) {
        if (Option.isSome(next.left)) end = next.left.value._tag
        yield* close(Option.isSome(next.left) ? Exit.fail(next.left.value) : Exit.void)
        break
      }
      for (const c of next.right) out.push(c.choices[0]?.delta.content ?? "")
    }
    return { out, end, ends: ends.map(([s, ok]) => [s.chunks, s.choices[0]?.content ?? "", ok] as const) }
  })

describe("Gateway streaming over a bare provider pull", () => {
  it.effect("delivers the first batch then the rest; closes the upstream once; reports the summary once", () =>
    Effect.gen(function*() {
      const up = upstream([[textChunk("hel")], [textChunk("lo"), textChunk("", "stop", { prompt: 3, completion: 2 })]])
      const peeled = yield* Streaming.peelFirst(Stream.die("the Stream form is not read"), empty, up.open)
      const result = yield* drain(peeled)
      assert.deepStrictEqual(result.out, ["hel", "lo", ""])
      assert.strictEqual(result.end, "end")
      assert.deepStrictEqual(result.ends, [[3, "hello", true]])
      assert.strictEqual(up.state.closes, 1)
    }))

  it.effect("a cut after the first chunk fails the stream (never a clean end) and closes the upstream", () =>
    Effect.gen(function*() {
      const up = upstream([[textChunk("a")]], cut())
      const result = yield* drain(yield* Streaming.peelFirst(up.stream, empty, up.open))
      assert.deepStrictEqual(result.out, ["a"])
      assert.strictEqual(result.end, "StreamInterrupted")
      assert.deepStrictEqual(result.ends, [[1, "a", false]])
      assert.strictEqual(up.state.closes, 1)
    }))

  it.effect("a failure, the end or an empty batch before the first chunk fails the peel and closes the upstream", () =>
    Effect.gen(function*() {
      const failing = upstream([], cut())
      const failed = yield* Effect.flip(Streaming.peelFirst(failing.stream, empty, failing.open))
      assert.include(failed.message, "cut")
      const ended = upstream([])
      assert.include((yield* Effect.flip(Streaming.peelFirst(ended.stream, empty, ended.open))).message, "empty")
      const blank = upstream([[]])
      assert.include((yield* Effect.flip(Streaming.peelFirst(blank.stream, empty, blank.open))).message, "empty")
      assert.deepStrictEqual([failing.state.closes, ended.state.closes, blank.state.closes], [1, 1, 1])
    }))

  it.effect("interruption while waiting for the first chunk, or mid-stream, closes the upstream", () =>
    Effect.gen(function*() {
      const before = upstream([], undefined, 0)
      const peeling = yield* Effect.fork(Streaming.peelFirst(before.stream, empty, before.open))
      yield* Effect.yieldNow()
      assert.isTrue(Exit.isInterrupted(yield* Fiber.interrupt(peeling)))
      assert.strictEqual(before.state.closes, 1)

      const during = upstream([[textChunk("a")]], undefined, 1)
      const peeled = yield* Streaming.peelFirst(during.stream, empty, during.open)
      const reading = yield* Effect.fork(drain(peeled))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(reading)
      // The consumer closes however it ends (the SSE writer's `close` on interruption).
      yield* peeled.close
      yield* peeled.close
      assert.strictEqual(during.state.closes, 1)
    }))

  it.effect("property: through the pull or through the Stream, the same chunks and the same end", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(
          fc.array(fc.array(fc.constantFrom("a", "b", "c"), { maxLength: 3 }), { maxLength: 5 }),
          fc.boolean(),
          async (contents, fails) => {
            const batches = contents.map((batch) => batch.map((c) => textChunk(c)))
            const run = (viaPull: boolean) => {
              const up = upstream(batches, fails ? cut() : undefined)
              return Effect.runPromise(
                Effect.either(Streaming.peelFirst(up.stream, empty, viaPull ? up.open : undefined)).pipe(
                  Effect.flatMap((peeled): Effect.Effect<unknown> =>
                    Either.isLeft(peeled) ? Effect.succeed(peeled.left.message) : drain(peeled.right)
                  ),
                  Effect.map((outcome) => ({ outcome, closes: up.state.closes }))
                )
              )
            }
            const [pulled, streamed] = [await run(true), await run(false)]
            assert.deepStrictEqual(pulled, streamed)
            assert.strictEqual(pulled.closes, 1)
          }
        ),
        { numRuns: 150 }
      )
    ))
})
