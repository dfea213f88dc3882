/**
 * ProviderHttp ends what it starts: a timed-out or interrupted exchange
 * aborts its HTTP request (the server sees the connection close), and a call
 * leaves its caller's context (the `Scope` service it sets for the client's
 * `withScope`) as it found it. Over a node:http server on loopback.
 */
import { HttpClientRequest } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import { awaitSleep } from "@modelgate/testkit/FakeServer"
import * as LoopbackServer from "@modelgate/testkit/LoopbackServer"
import { Deferred, Effect, Exit, Fiber, Option, Scope, Stream, TestClock } from "effect"
import { genericError, makeProviderHttp } from "../src/internal/index.js"

const info = { model: "toy-model", keyId: "toy#1", secrets: [] }

/**
 * `/hang`: never answers. `/body`: headers and one chunk, then nothing.
 * `/ok`: 200 JSON. `/busy`: 503.
 */
const loopback = LoopbackServer.make(({ path }, res) => {
  if (path === "/ok") {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ok: true }))
  } else if (path === "/busy") {
    res.writeHead(503, { "content-type": "text/plain" }).end("busy")
  } else if (path === "/body") {
    res.writeHead(200, { "content-type": "text/plain" })
    res.write("first")
  }
})

const setup = Effect.gen(function*() {
  const server = yield* loopback
  const providerHttp = yield* makeProviderHttp({
    provider: "toy",
    getConfig: Effect.succeed(ProviderConfig.make({ baseUrl: server.url, maxRetries: 0, timeoutMs: 1_000 })),
    requestId: () => undefined,
    rateLimit: () => undefined,
    classify: (ctx) => genericError(ctx, ctx.excerpt, undefined)
  })
  const call = (path: string) =>
    providerHttp.call(info, HttpClientRequest.get(`${server.url}${path}`), (res) => Effect.succeed(res.body))
  /** Read `path` as a stream into `received`; `first` (if given) completes with the first piece. */
  const stream = (path: string, received: Array<string>, first?: Deferred.Deferred<void>) =>
    providerHttp.stream(info, HttpClientRequest.get(`${server.url}${path}`), (res) => Effect.succeed(res.body)).pipe(
      Effect.flatMap(Stream.runForEach((bytes) =>
        Effect.zipRight(
          Effect.sync(() => received.push(new TextDecoder().decode(bytes))),
          first === undefined ? Effect.void : Deferred.succeed(first, undefined)
        )))
    )
  return { server, call, stream }
})

describe("ProviderHttp aborts what it gives up", () => {
  it.scoped("a call whose deadline passes (TestClock) is Timeout and its connection is closed", () =>
    Effect.gen(function*() {
      const { call, server } = yield* setup
      const fiber = yield* Effect.fork(call("/hang"))
      yield* server.arrived(1)
      yield* TestClock.adjust(yield* awaitSleep((ms) => ms === 1_000))
      const error = yield* Effect.flip(Fiber.join(fiber))
      assert.strictEqual(error._tag, "Timeout")
      assert.strictEqual(yield* server.closed(1), "closed")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("interrupting a call waiting on headers closes its connection", () =>
    Effect.gen(function*() {
      const { call, server } = yield* setup
      const fiber = yield* Effect.fork(call("/hang"))
      yield* server.arrived(1)
      assert.isTrue(Exit.isInterrupted(yield* Fiber.interrupt(fiber)))
      assert.strictEqual(yield* server.closed(1), "closed")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("interrupting a stream, before its headers or while its body is read, closes its connection", () =>
    Effect.gen(function*() {
      const { server, stream } = yield* setup
      const received: Array<string> = []
      const before = yield* Effect.fork(stream("/hang", received))
      yield* server.arrived(1)
      yield* Fiber.interrupt(before)
      assert.strictEqual(yield* server.closed(1), "closed")

      const first = yield* Deferred.make<void>()
      const during = yield* Effect.fork(stream("/body", received, first))
      yield* Deferred.await(first)
      assert.deepStrictEqual(received, ["first"])
      yield* Fiber.interrupt(during)
      assert.strictEqual(yield* server.closed(2), "closed")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("a call leaves the caller's Scope service as it found it: answered, error status, timeout, interrupted", () =>
    Effect.gen(function*() {
      const { call, server } = yield* setup
      const outer = yield* Effect.serviceOption(Scope.Scope)
      assert.isTrue(Option.isSome(outer))
      const scopeAfter = Effect.map(Effect.serviceOption(Scope.Scope), Option.getOrUndefined)

      assert.strictEqual(yield* call("/ok"), "{\"ok\":true}")
      assert.strictEqual(yield* scopeAfter, Option.getOrUndefined(outer))
      assert.strictEqual((yield* Effect.flip(call("/busy")))._tag, "Overloaded")
      assert.strictEqual(yield* scopeAfter, Option.getOrUndefined(outer))

      const timedOut = yield* Effect.fork(Effect.flip(call("/hang")))
      yield* server.arrived(3)
      yield* TestClock.adjust(yield* awaitSleep((ms) => ms === 1_000))
      assert.strictEqual((yield* Fiber.join(timedOut))._tag, "Timeout")
      assert.strictEqual(yield* scopeAfter, Option.getOrUndefined(outer))

      let seenOnInterrupt: unknown = "not run"
      const interrupted = yield* Effect.fork(
        Effect.onInterrupt(call("/hang"), () => Effect.map(scopeAfter, (scope) => (seenOnInterrupt = scope)))
      )
      yield* server.arrived(4)
      yield* Fiber.interrupt(interrupted)
      assert.strictEqual(seenOnInterrupt, Option.getOrUndefined(outer))
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})
