import { NodeHttpClient } from "@effect/platform-node"
import { HttpClientRequest } from "@effect/platform"
import { ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import { type Answer, awaitSleep, Fault, type FakeProvider, make as makeFake } from "@modelgate/testkit/FakeServer"
import { assert, describe, it } from "@effect/vitest"
import type { ProviderError } from "@modelgate/domain/ProviderError"
import { Effect, Fiber, Option, Stream, TestClock } from "effect"
import { genericError, makeProviderHttp } from "../src/internal/index.js"

const toy: FakeProvider = {
  name: "toy",
  handle: (): Answer => ({ _tag: "Stream", contentType: "text/plain", chunks: ["a", "b", "c"], terminalChunks: 1 }),
  errorAnswer: ({ message }) => ({ body: JSON.stringify({ error: { message } }), headers: {} })
}

const info = { model: "toy-model", keyId: "toy#1", secrets: [] }

/** Real time passes until `received` holds `n` pieces (the fake's I/O is real). */
const awaitPieces = (received: ReadonlyArray<string>, n: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < 2_500 && received.length < n; i++) {
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 2)))
    }
    assert.lengthOf(received, n)
  })

const setup = (timeoutMs: number) =>
  Effect.gen(function*() {
    const server = yield* makeFake(toy)
    const http = yield* makeProviderHttp({
      provider: "toy",
      getConfig: Effect.succeed(ProviderConfig.make({ baseUrl: server.url, maxRetries: 0, timeoutMs })),
      requestId: () => undefined,
      rateLimit: () => undefined,
      classify: (ctx) => genericError(ctx, ctx.excerpt, undefined)
    })
    return { http, server }
  })

/** Fork a stream call whose body pieces land in `received`. */
const forkStream = (timeoutMs: number, chunkMs: number) =>
  Effect.gen(function*() {
    const { http, server } = yield* setup(timeoutMs)
    yield* server.script(Fault.delay({ chunkMs }))
    const received: Array<string> = []
    const decoder = new TextDecoder()
    const fiber = yield* Effect.fork(
      http.stream(info, HttpClientRequest.get(`${server.url}/s`), (res) => Effect.succeed(res.body)).pipe(
        Effect.flatMap(Stream.runForEach((bytes) => Effect.sync(() => received.push(decoder.decode(bytes)))))
      )
    )
    return { fiber, received }
  })

describe("ProviderHttp deadlines (TestClock)", () => {
  it.scoped("exchanges in flight together each time out at their own deadline", () =>
    Effect.gen(function*() {
      const { http, server } = yield* setup(1_000)
      yield* server.script(Fault.delay({ headersMs: 5_000 }), Fault.delay({ headersMs: 5_000 }))
      const get = http.call(info, HttpClientRequest.get(`${server.url}/c`), (res) => Effect.succeed(res.body))
      const first = yield* Effect.fork(get)
      assert.strictEqual(yield* awaitSleep((ms) => ms === 1_000), 1_000)
      yield* TestClock.adjust(500)
      const second = yield* Effect.fork(get)
      for (let i = 0; i < 2_500 && (yield* server.requests).length < 2; i++) {
        yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 2)))
      }
      yield* TestClock.adjust(500)
      assert.strictEqual((yield* Effect.flip(Fiber.join(first)))._tag, "Timeout")
      yield* TestClock.adjust(499)
      assert.isTrue(Option.isNone(yield* Fiber.poll(second)))
      yield* TestClock.adjust(1)
      const error = yield* Effect.flip(Fiber.join(second))
      assert.strictEqual(error._tag, "Timeout")
      assert.include(error.message, "no answer within 1000 ms")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))


  it.scoped("the timeout bounds the gap between chunks, not the whole stream", () =>
    Effect.gen(function*() {
      // The fake sleeps between chunks in real time; TestClock moves 800 ms per gap.
      const { fiber, received } = yield* forkStream(1_000, 200)
      yield* awaitPieces(received, 1)
      assert.strictEqual(yield* awaitSleep((ms) => ms === 1_000), 1_000)
      yield* TestClock.adjust(800)
      yield* awaitPieces(received, 2)
      yield* TestClock.adjust(800)
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(received, ["a", "b", "c"])
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("a gap over the timeout fails the stream with Timeout, not before", () =>
    Effect.gen(function*() {
      const { fiber, received } = yield* forkStream(1_000, 3_000)
      yield* awaitPieces(received, 1)
      yield* TestClock.adjust(999)
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
      yield* TestClock.adjust(1)
      const error: ProviderError = yield* Effect.flip(Fiber.join(fiber))
      assert.strictEqual(error._tag, "Timeout")
      assert.include(error.message, "no stream data within 1000 ms")
      assert.deepStrictEqual(received, ["a"])
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})
