import { NodeHttpClient } from "@effect/platform-node"
import { HttpClientRequest } from "@effect/platform"
import { ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import { type Answer, awaitSleep, Fault, type FakeProvider, make as makeFake } from "@modelgate/testkit/FakeServer"
import { assert, describe, it } from "@effect/vitest"
import type { ProviderError } from "@modelgate/domain/ProviderError"
import { Deferred, Effect, Exit, Fiber, Option, Stream, TestClock } from "effect"
import * as Http from "node:http"
import { genericError, makeProviderHttp } from "../src/internal/index.js"

const toy: FakeProvider = {
  name: "toy",
  handle: (): Answer => ({ _tag: "Stream", contentType: "text/plain", chunks: ["a", "b", "c"], terminalChunks: 1 }),
  errorAnswer: ({ message }) => ({ body: JSON.stringify({ error: { message } }), headers: {} })
}

const info = { model: "toy-model", keyId: "toy#1", secrets: [] }

/**
 * Real time passes until `received` holds `n` pieces (the I/O is real); polled
 * every 2 ms, with 10 s of real time as a hang detector only.
 */
const awaitPieces = (received: ReadonlyArray<string>, n: number) =>
  Effect.gen(function*() {
    const giveUpAt = performance.now() + 10_000
    while (received.length < n && performance.now() < giveUpAt) {
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 2)))
    }
    assert.lengthOf(received, n, `hang detector: ${n} pieces not received within 10 s of real time`)
  })

/**
 * A server whose one streamed answer sends each piece when the test says so
 * (`send`, then `end`): the gaps between pieces are the test's to choose on
 * the TestClock, with no real-time delay for a loaded machine to overrun.
 */
const pacedServer = Effect.gen(function*() {
  const answer = yield* Deferred.make<Http.ServerResponse>()
  const server = Http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/plain" })
    res.flushHeaders()
    Deferred.unsafeDone(answer, Exit.succeed(res))
  })
  yield* Effect.acquireRelease(
    Effect.async<void>((resume) => void server.listen(0, "127.0.0.1", () => resume(Effect.void))),
    () => Effect.sync(() => server.closeAllConnections()).pipe(Effect.zipRight(Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))))
  )
  const address = server.address()
  const url = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
  const send = (piece: string) => Effect.flatMap(Deferred.await(answer), (res) => Effect.sync(() => void res.write(piece)))
  const end = Effect.flatMap(Deferred.await(answer), (res) => Effect.sync(() => res.end()))
  return { url, send, end }
})

const providerHttp = (baseUrl: string, timeoutMs: number) =>
  makeProviderHttp({
    provider: "toy",
    getConfig: Effect.succeed(ProviderConfig.make({ baseUrl, maxRetries: 0, timeoutMs })),
    requestId: () => undefined,
    rateLimit: () => undefined,
    classify: (ctx) => genericError(ctx, ctx.excerpt, undefined)
  })

const setup = (timeoutMs: number) =>
  Effect.gen(function*() {
    const server = yield* makeFake(toy)
    const http = yield* providerHttp(server.url, timeoutMs)
    return { http, server }
  })

/** Fork a stream call to a paced server whose body pieces land in `received`. */
const forkStream = (timeoutMs: number) =>
  Effect.gen(function*() {
    const server = yield* pacedServer
    const http = yield* providerHttp(server.url, timeoutMs)
    const received: Array<string> = []
    const decoder = new TextDecoder()
    const fiber = yield* Effect.fork(
      http.stream(info, HttpClientRequest.get(`${server.url}/s`), (res) => Effect.succeed(res.body)).pipe(
        Effect.flatMap(Stream.runForEach((bytes) => Effect.sync(() => received.push(decoder.decode(bytes)))))
      )
    )
    return { fiber, received, server }
  })

describe("ProviderHttp deadlines (TestClock)", () => {
  it.scoped("exchanges in flight together each time out at their own deadline", () =>
    Effect.gen(function*() {
      const { http, server } = yield* setup(1_000)
      // The fake holds both requests (no answer until the gate opens, which it never does here).
      const gate = yield* Effect.makeLatch(false)
      yield* server.persist(Fault.hold(gate))
      const get = http.call(info, HttpClientRequest.get(`${server.url}/c`), (res) => Effect.succeed(res.body))
      const first = yield* Effect.fork(get)
      assert.strictEqual(yield* awaitSleep((ms) => ms === 1_000), 1_000)
      yield* TestClock.adjust(500)
      const second = yield* Effect.fork(get)
      yield* server.awaitHeld(2)
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
      // Each piece is sent once the TestClock has moved 800 ms since the last: 1,600 ms in all, no gap of 1,000.
      const { fiber, received, server } = yield* forkStream(1_000)
      yield* server.send("a")
      yield* awaitPieces(received, 1)
      assert.strictEqual(yield* awaitSleep((ms) => ms === 1_000), 1_000)
      yield* TestClock.adjust(800)
      yield* server.send("b")
      yield* awaitPieces(received, 2)
      yield* TestClock.adjust(800)
      yield* server.send("c")
      yield* server.end
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(received, ["a", "b", "c"])
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("a gap over the timeout fails the stream with Timeout, not before", () =>
    Effect.gen(function*() {
      const { fiber, received, server } = yield* forkStream(1_000)
      yield* server.send("a")
      yield* awaitPieces(received, 1)
      assert.strictEqual(yield* awaitSleep((ms) => ms === 1_000), 1_000)
      yield* TestClock.adjust(999)
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
      yield* TestClock.adjust(1)
      const error: ProviderError = yield* Effect.flip(Fiber.join(fiber))
      assert.strictEqual(error._tag, "Timeout")
      assert.include(error.message, "no stream data within 1000 ms")
      assert.deepStrictEqual(received, ["a"])
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})
