import { assert, describe, it } from "@effect/vitest"
import type { ChatChunk, ChatResponse } from "@modelgate/domain/Chat"
import { type ProviderError, StreamInterrupted } from "@modelgate/domain/ProviderError"
import { Chunk, Clock, Effect, Either, Exit, Ref, Stream, TestClock } from "effect"
import * as fc from "fast-check"
import * as Abandon from "../src/Gateway/Abandon.js"
import * as Streaming from "../src/Gateway/Streaming.js"
import { replayChunks } from "../src/ResponseCache/Replay.js"
import { textChunk } from "./ChunkFixtures.js"


const cut = (): ProviderError => new StreamInterrupted({ provider: "p", model: "m", detail: "cut" })

/** An upstream of `chunks` (then `failure`, when given) whose closing is counted. */
const upstream = (closed: Ref.Ref<number>, chunks: ReadonlyArray<ChatChunk>, failure?: ProviderError) =>
  Stream.fromIterable(chunks).pipe(
    Stream.concat(failure === undefined ? Stream.empty : Stream.fail(failure)),
    Stream.ensuring(Ref.update(closed, (n) => n + 1))
  )

const deliverOf = (peeled: Streaming.Peeled<ProviderError>, ends: Ref.Ref<ReadonlyArray<[Streaming.StreamSummary, boolean]>>, start = () => true) =>
  Effect.map(Effect.clock, (clock) =>
    Streaming.deliver(peeled, {
      clock,
      startedAt: 0,
      rename: (c) => ({ ...c, model: "gateway-model", id: "chatcmpl-1" }),
      onStart: start,
      tooLate: cut,
      onEnd: (summary, exit) => Ref.update(ends, (all): ReadonlyArray<[Streaming.StreamSummary, boolean]> => [...all, [summary, Exit.isSuccess(exit)]])
    }))

describe("Gateway streaming", () => {
  it.effect("delivers the first chunk then the rest, renamed; closes the upstream and reports the summary once", () =>
    Effect.gen(function* () {
      const closed = yield* Ref.make(0)
      const ends = yield* Ref.make<ReadonlyArray<[Streaming.StreamSummary, boolean]>>([])
      yield* TestClock.adjust(40)
      const peeled = yield* Streaming.peelFirst(upstream(closed, [textChunk("hel"), textChunk("lo"), textChunk(undefined, "stop", { prompt: 3, completion: 2 })]), cut)
      const out = Chunk.toReadonlyArray(yield* Stream.runCollect(yield* deliverOf(peeled, ends)))
      assert.deepStrictEqual(out.map((c) => [c.model, c.id]), [["gateway-model", "chatcmpl-1"], ["gateway-model", "chatcmpl-1"], ["gateway-model", "chatcmpl-1"]])
      assert.strictEqual(yield* Ref.get(closed), 1)
      const all = yield* Ref.get(ends)
      assert.strictEqual(all.length, 1)
      const [summary, ok] = all[0]!
      assert.isTrue(ok)
      assert.strictEqual(summary.choices[0]?.content, "hello")
      assert.strictEqual(summary.chunks, 3)
      assert.strictEqual(summary.choices[0]?.finishReason, "stop")
      assert.strictEqual(summary.usage?.total_tokens, 5)
      assert.strictEqual(summary.timeToFirstTokenMs, yield* Clock.currentTimeMillis)
    }))

  it.effect("the time to first token is when the first token arrived, not when the client began to read it", () =>
    Effect.gen(function* () {
      const closed = yield* Ref.make(0)
      const ends = yield* Ref.make<ReadonlyArray<[Streaming.StreamSummary, boolean]>>([])
      yield* TestClock.adjust(40)
      const peeled = yield* Streaming.peelFirst(upstream(closed, [textChunk("hel"), textChunk("lo", "stop", { prompt: 3, completion: 2 })]), cut)
      const delivered = yield* deliverOf(peeled, ends)
      // the consumer starts reading 5 s after the first token came in
      yield* TestClock.adjust(5_000)
      yield* Stream.runDrain(delivered)
      const [summary] = (yield* Ref.get(ends))[0]!
      assert.strictEqual(summary.timeToFirstTokenMs, 40)
    }))

  it.effect("a stream cut after its first chunk fails (never ends cleanly) and reports the failure", () =>
    Effect.gen(function* () {
      const closed = yield* Ref.make(0)
      const ends = yield* Ref.make<ReadonlyArray<[Streaming.StreamSummary, boolean]>>([])
      const peeled = yield* Streaming.peelFirst(upstream(closed, [textChunk("a")], cut()), cut)
      const result = yield* Effect.either(Stream.runCollect(yield* deliverOf(peeled, ends)))
      assert.isTrue(Either.isLeft(result))
      assert.strictEqual(yield* Ref.get(closed), 1)
      const all = yield* Ref.get(ends)
      assert.deepStrictEqual(all.map(([s, ok]) => [s.chunks, ok]), [[1, false]])
    }))

  it.effect("a stream that fails or ends before its first chunk fails the peel and closes the upstream", () =>
    Effect.gen(function* () {
      const closed = yield* Ref.make(0)
      const failed = yield* Effect.either(Streaming.peelFirst(upstream(closed, [], cut()), () => cut()))
      assert.isTrue(Either.isLeft(failed))
      const empty = yield* Effect.either(
        Streaming.peelFirst(upstream(closed, []), () => new StreamInterrupted({ provider: "p", model: "m", detail: "empty" }))
      )
      assert.isTrue(Either.isLeft(empty) && empty.left._tag === "StreamInterrupted" && empty.left.message.includes("empty"))
      assert.strictEqual(yield* Ref.get(closed), 2)
    }))

  it.scoped("a stream not started within the delay is abandoned once; a started one never is", () =>
    Effect.gen(function* () {
      const abandoner = yield* Abandon.make(30_000)
      const abandoned = yield* Ref.make<ReadonlyArray<string>>([])
      const note = (name: string) => Ref.update(abandoned, (all) => [...all, name])
      const read = abandoner.register(0, note("read"))
      yield* TestClock.adjust(10_000)
      const unread = abandoner.register(yield* Clock.currentTimeMillis, note("unread"))
      assert.isTrue(read.start())
      yield* TestClock.adjust(29_000)
      assert.deepStrictEqual(yield* Ref.get(abandoned), [])
      yield* TestClock.adjust(2_000)
      yield* Effect.yieldNow()
      assert.deepStrictEqual(yield* Ref.get(abandoned), ["unread"])
      assert.isFalse(unread.start(), "too late: the stream was abandoned")
      yield* TestClock.adjust(60_000)
      assert.deepStrictEqual(yield* Ref.get(abandoned), ["unread"])
    }))

  it.scoped("a stream handed out between started ones, or after a quiet spell, is abandoned at its own deadline", () =>
    Effect.gen(function* () {
      const abandoner = yield* Abandon.make(30_000)
      const abandoned = yield* Ref.make<ReadonlyArray<string>>([])
      const handOut = (name: string) =>
        Effect.map(Clock.currentTimeMillis, (now) => abandoner.register(now, Ref.update(abandoned, (all) => [...all, name])))
      assert.isTrue((yield* handOut("started")).start())
      yield* TestClock.adjust(10_000)
      yield* handOut("second")
      yield* TestClock.adjust(29_000)
      assert.deepStrictEqual(yield* Ref.get(abandoned), [])
      yield* TestClock.adjust(1_000)
      yield* Effect.yieldNow()
      assert.deepStrictEqual(yield* Ref.get(abandoned), ["second"])
      // Nothing handed out for long: the janitor waits for the next stream, which still gets its own deadline.
      yield* TestClock.adjust(120_000)
      yield* handOut("third")
      yield* TestClock.adjust(29_999)
      assert.deepStrictEqual(yield* Ref.get(abandoned), ["second"])
      yield* TestClock.adjust(1)
      yield* Effect.yieldNow()
      assert.deepStrictEqual(yield* Ref.get(abandoned), ["second", "third"])
    }))

  it.effect("a stream started after it was abandoned fails instead of reading a closed upstream", () =>
    Effect.gen(function* () {
      const closed = yield* Ref.make(0)
      const ends = yield* Ref.make<ReadonlyArray<[Streaming.StreamSummary, boolean]>>([])
      const peeled = yield* Streaming.peelFirst(upstream(closed, [textChunk("a"), textChunk("b")]), cut)
      const result = yield* Effect.either(Stream.runCollect(yield* deliverOf(peeled, ends, () => false)))
      assert.isTrue(Either.isLeft(result))
      assert.strictEqual(yield* Ref.get(closed), 1)
    }))

  it.effect("a stream of several choices (n > 1), interleaved as OpenAI sends them, assembles to the answer it carried, refusals and citations included (property)", () =>
    Effect.gen(function* () {
      const callArb = fc.record({ id: fc.string({ minLength: 1, maxLength: 8 }), name: fc.string({ minLength: 1, maxLength: 8 }), args: fc.string({ maxLength: 30 }) })
      const choiceArb = fc.record({
        text: fc.string({ maxLength: 40 }),
        refusal: fc.oneof(fc.constant(""), fc.string({ minLength: 1, maxLength: 20 })),
        annotations: fc.array(
          fc.record({ type: fc.constant("url_citation"), url_citation: fc.record({ start_index: fc.nat(50), end_index: fc.nat(50), url: fc.webUrl(), title: fc.string({ maxLength: 10 }) }) }),
          { maxLength: 2 }
        ),
        calls: fc.array(callArb, { maxLength: 2 }),
        finish: fc.constantFrom("stop" as const, "length" as const, "tool_calls" as const)
      })
      const cases = fc.sample(fc.record({ choices: fc.array(choiceArb, { minLength: 1, maxLength: 3 }), chunkSize: fc.integer({ min: 1, max: 12 }) }), 60)
      for (const { choices, chunkSize } of cases) {
        const response: ChatResponse = {
          id: "chatcmpl-1",
          object: "chat.completion",
          created: 7,
          model: "gateway-model",
          choices: choices.map((c, index) => ({
            index,
            message: {
              role: "assistant" as const,
              content: c.text === "" && c.calls.length > 0 ? null : c.text,
              ...(c.calls.length > 0
                ? { tool_calls: c.calls.map((t) => ({ id: t.id, type: "function" as const, function: { name: t.name, arguments: t.args } })) }
                : {}),
              refusal: c.refusal !== "" ? c.refusal : null,
              ...(c.annotations.length > 0 ? { annotations: c.annotations } : {})
            },
            logprobs: null,
            finish_reason: c.finish
          })) as unknown as ChatResponse["choices"],
          usage: { prompt_tokens: 3, completion_tokens: 9, total_tokens: 12 }
        }
        // Round-robin over the choices' chunks (each choice's own order kept), the usage chunk last.
        const all = replayChunks(response, { chunkSize, includeUsage: false })
        const byChoice = response.choices.map((c) => all.filter((chunk) => chunk.choices[0]?.index === c.index))
        const interleaved: Array<ChatChunk> = []
        for (let i = 0; byChoice.some((list) => i < list.length); i++) for (const list of byChoice) if (i < list.length) interleaved.push(list[i]!)
        interleaved.push({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 7, model: "gateway-model", choices: [], usage: response.usage })

        const closed = yield* Ref.make(0)
        const ends = yield* Ref.make<ReadonlyArray<[Streaming.StreamSummary, boolean]>>([])
        const peeled = yield* Streaming.peelFirst(upstream(closed, interleaved), cut)
        yield* Stream.runDrain(yield* deliverOf(peeled, ends))
        const [summary] = (yield* Ref.get(ends))[0]!
        assert.deepStrictEqual(summary.choices.map((c) => c.index), response.choices.map((c) => c.index))
        assert.deepStrictEqual(Streaming.assemble(summary, "chatcmpl-1", "gateway-model"), response)
      }
    }))

  it("a stream with a choice left without its finish reason is not assembled (nothing incomplete is cached)", () => {
    const usage = { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 }
    const choice = (index: number, finishReason: "stop" | undefined) => ({ index, content: "x", refusal: "", annotations: [], toolCalls: [], finishReason })
    const summary = (choices: ReadonlyArray<Streaming.ChoiceSummary>): Streaming.StreamSummary => ({ usage, timeToFirstTokenMs: 1, chunks: 3, created: 1, choices })
    assert.isDefined(Streaming.assemble(summary([choice(0, "stop"), choice(1, "stop")]), "id", "m"))
    assert.isUndefined(Streaming.assemble(summary([choice(0, "stop"), choice(1, undefined)]), "id", "m"))
    assert.isUndefined(Streaming.assemble(summary([]), "id", "m"))
  })
})
