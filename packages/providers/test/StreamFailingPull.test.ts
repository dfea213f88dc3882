/**
 * An adapter's stream pull says when the network read that gave its last
 * batch also carried the failure that ends the stream (`Pull.failing`): an
 * error event right after the first text (OpenAI, Anthropic), or the
 * connection broken right after the bytes read, or closed normally there
 * before the stream's terminal event (the body's end is read: `Pull.ended`).
 * The gateway asks it once, at the first text, to fail over instead of
 * sending a doomed partial answer. A healthy read (the text alone, or a whole
 * answer) is not failing; a whole answer closed without `[DONE]` ends whole.
 */
import type { HttpClientResponse } from "@effect/platform"
import { HttpClientRequest } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import type { ProviderPull } from "@modelgate/core/Provider"
import { StreamInterrupted } from "@modelgate/domain/ProviderError"
import { Chunk, Clock, Effect, Either, Option, Scope } from "effect"
import { PassThrough } from "node:stream"
import * as Anthropic from "../src/Anthropic.js"
import { openBody } from "../src/internal/body.js"
import type { Deadline } from "../src/internal/deadline.js"
import * as OpenAi from "../src/OpenAi.js"
import { ctxOf, keyOf, live, modelOf } from "./internal/fixtures.js"
import { rawAdapter, sse } from "./internal/rawUpstream.js"

const oa = (delta: unknown, finish: string | null = null) => ({
  id: "chatcmpl-1",
  object: "chat.completion.chunk",
  created: 1,
  model: "gpt-4o-mini",
  choices: [{ index: 0, delta, finish_reason: finish }]
})
const oaError = { error: { message: "The server had an error", type: "server_error", param: null, code: null } }
const an = (event: string, value: Record<string, unknown>) => [event, { type: event, ...value }] as const
const anStart = [
  an("message_start", { message: { id: "msg_1", type: "message", role: "assistant", model: "claude-haiku-4-5", content: [], usage: { input_tokens: 5, output_tokens: 1 } } }),
  an("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
  an("content_block_delta", { index: 0, delta: { type: "text_delta", text: "Doomed" } })
]

/** The first pull of `provider`'s stream of one raw SSE body, and whether it is then failing. */
const firstRead = (make: typeof OpenAi.make | typeof Anthropic.make, provider: string, providerModel: string, body: string) =>
  Effect.gen(function*() {
    const { provider: adapter } = yield* rawAdapter(make, [{ headers: { "content-type": "text/event-stream" }, body }])
    const started = yield* adapter.stream(ctxOf(modelOf(provider, providerModel), keyOf(provider, "sk-test")))
    const opened: ProviderPull = started.open!()
    const batch = yield* opened.pull
    const failing = opened.failing?.() === true
    const next = yield* Effect.either(opened.pull)
    yield* opened.close
    return { texts: Chunk.toReadonlyArray(batch).map((c) => c.choices[0]?.delta.content ?? ""), failing, next }
  })

describe("a stream pull that already holds its failure", () => {
  it.scopedLive("OpenAI: the first text and an error event in one read: failing, and the next pull fails with the error", () =>
    live(Effect.gen(function*() {
      const read = yield* firstRead(OpenAi.make, "openai", "gpt-4o-mini", sse([oa({ role: "assistant", content: "" }), oa({ content: "Doomed" }), oaError]))
      assert.deepStrictEqual(read.texts, ["", "Doomed"])
      assert.isTrue(read.failing)
      assert.isTrue(Either.isLeft(read.next) && Option.isSome(read.next.left) && read.next.left.value._tag === "ServerError")
    })))

  it.scopedLive("Anthropic: message_start, the first text and overloaded_error in one read: failing", () =>
    live(Effect.gen(function*() {
      const read = yield* firstRead(Anthropic.make, "anthropic", "claude-haiku-4-5", sse([...anStart, ["error", { type: "error", error: { type: "overloaded_error", message: "Overloaded" } }]]))
      assert.include(read.texts, "Doomed")
      assert.isTrue(read.failing)
      assert.isTrue(Either.isLeft(read.next) && Option.isSome(read.next.left) && read.next.left.value._tag === "Overloaded")
    })))

  it.scopedLive("OpenAI: the first text, then the body's normal end in one read (no finish_reason, no [DONE]): failing, and the next pull fails", () =>
    live(Effect.gen(function*() {
      const read = yield* firstRead(OpenAi.make, "openai", "gpt-4o-mini", sse([oa({ role: "assistant", content: "" }), oa({ content: "Cut" })]))
      assert.deepStrictEqual(read.texts, ["", "Cut"])
      assert.isTrue(read.failing)
      assert.isTrue(Either.isLeft(read.next) && Option.isSome(read.next.left) && read.next.left.value._tag === "StreamInterrupted")
    })))

  it.scopedLive("control: a whole answer closed after its finish_reason without [DONE], in one read: the rest ends the stream, no failure", () =>
    live(Effect.gen(function*() {
      const read = yield* firstRead(OpenAi.make, "openai", "gpt-4o-mini", sse([oa({ role: "assistant", content: "" }), oa({ content: "Hi" }), oa({}, "stop")]))
      assert.deepStrictEqual(read.texts, ["", "Hi", ""])
      assert.isTrue(Either.isRight(read.next) || Option.isNone(read.next.left))
    })))

  it.scopedLive("control: a whole answer in one read is not failing", () =>
    live(Effect.gen(function*() {
      const usage = { ...oa({}), choices: [], usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } }
      const read = yield* firstRead(OpenAi.make, "openai", "gpt-4o-mini", sse([oa({ role: "assistant", content: "" }), oa({ content: "Hi" }), oa({}, "stop"), usage, "[DONE]"]))
      assert.isFalse(read.failing)
      assert.isTrue(Either.isLeft(read.next) && Option.isNone(read.next.left))
    })))
})

/** A body over a Node readable, as undici's (the direct path of `openBody`). */
const bodyOver = (readable: PassThrough) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const clock = yield* Effect.clock
    const deadline: Deadline = { timeoutMs: 5_000, scope, clock, waitingSince: undefined, timedOut: false, drained: false }
    const source = Object.assign(readable, { text: () => Promise.resolve("") })
    const response = { source: { body: source }, request: HttpClientRequest.get("http://provider.test/") } as unknown as HttpClientResponse.HttpClientResponse
    const broken = () => new StreamInterrupted({ provider: "p", model: "m", detail: "the connection broke" })
    return openBody(response, deadline, broken, Effect.void)
  })

/** Until the readable's queued events (its data, its error) have been emitted. */
const settled = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

describe("a body whose connection broke right after the bytes read", () => {
  it.effect("the data, then failing: the next pull fails without waiting", () =>
    Effect.gen(function*() {
      const readable = new PassThrough()
      const body = yield* bodyOver(readable)
      readable.write("data: first\n\n")
      readable.destroy(new Error("read ECONNRESET"))
      yield* settled
      const first = yield* body.pull
      assert.strictEqual(Buffer.concat(Chunk.toReadonlyArray(first)).toString(), "data: first\n\n")
      assert.isTrue(body.failing?.())
      const next = yield* Effect.either(body.pull)
      assert.isTrue(Either.isLeft(next) && Option.isSome(next.left) && next.left.value._tag === "StreamInterrupted")
      yield* body.close
    }).pipe(Effect.withClock(Clock.make())))

  it.effect("the data, then the connection's normal end: ended (the next pull ends without waiting), not failing", () =>
    Effect.gen(function*() {
      const readable = new PassThrough()
      const body = yield* bodyOver(readable)
      readable.end("data: last\n\n")
      yield* settled
      yield* body.pull
      assert.isTrue(body.ended?.())
      assert.isFalse(body.failing?.())
      const next = yield* Effect.either(body.pull)
      assert.isTrue(Either.isLeft(next) && Option.isNone(next.left))
      yield* body.close
    }))

  it.effect("control: data with the connection still open is not failing", () =>
    Effect.gen(function*() {
      const readable = new PassThrough()
      const body = yield* bodyOver(readable)
      readable.write("data: first\n\n")
      yield* settled
      yield* body.pull
      assert.isFalse(body.failing?.())
      assert.isFalse(body.ended?.())
      yield* body.close
    }))
})
