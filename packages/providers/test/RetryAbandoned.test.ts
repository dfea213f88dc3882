/**
 * A call nobody waits for any more (`CallContext.abandoned`: its client left a
 * complete call the gateway let run on) sends no further retry: the failure
 * it would have waited out and retried is its end. The provider bills every
 * request it answers, and nobody would read the retry's answer.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { HttpClientRequest } from "@effect/platform"
import { ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import { type Answer, awaitSleep, Fault, type FakeProvider, make as makeFake } from "@modelgate/testkit/FakeServer"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Schema, TestClock } from "effect"
import { decodeJson, genericError, makeProviderHttp, standardRetryAfter } from "../src/internal/index.js"

const toy: FakeProvider = {
  name: "toy",
  handle: (): Answer => ({ _tag: "Json", status: 200, body: { n: 1 } }),
  errorAnswer: ({ message }) => ({ body: JSON.stringify({ error: { message } }), headers: {} })
}

const Body = Schema.Struct({ n: Schema.Number })

/** A call to the toy provider (two retries allowed) whose `abandoned` reads `left.now`. */
const setup = Effect.gen(function*() {
  const server = yield* makeFake(toy)
  const http = yield* makeProviderHttp({
    provider: "toy",
    getConfig: Effect.succeed(ProviderConfig.make({ baseUrl: server.url, maxRetries: 2 })),
    requestId: (h) => h["x-request-id"],
    rateLimit: () => undefined,
    classify: (ctx) => genericError(ctx, ctx.excerpt, standardRetryAfter(ctx.headers, ctx.nowMs))
  })
  const left = { now: false }
  const info = { model: "toy-model", keyId: "toy#1", secrets: [], abandoned: () => left.now }
  const get = http.call(info, HttpClientRequest.get(`${server.url}/chat`), (res) =>
    decodeJson(Body, res.body, { provider: "toy", info, meta: res }))
  return { get, left, server }
})

describe("a call abandoned while it waits to retry", () => {
  it.scoped("sends no retry: it fails with the failure it waited out", () =>
    Effect.gen(function*() {
      const { get, left, server } = yield* setup
      yield* server.script(Fault.status(429, { headers: { "retry-after": "3" } }))
      const fiber = yield* Effect.fork(get)
      assert.strictEqual(yield* awaitSleep((ms) => ms < 60_000), 3_000)
      left.now = true
      yield* TestClock.adjust(3_000)
      const error = yield* Effect.flip(Fiber.join(fiber))
      assert.strictEqual(error._tag, "RateLimited")
      assert.strictEqual(error.attempts?.length, 1, "its one request, answered")
      assert.lengthOf(yield* server.requests, 1, "the retry was not sent")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("is not retried once abandoned, even before its wait", () =>
    Effect.gen(function*() {
      const { get, left, server } = yield* setup
      left.now = true
      yield* server.script(Fault.status(500))
      const error = yield* Effect.flip(get)
      assert.strictEqual(error._tag, "ServerError")
      assert.lengthOf(yield* server.requests, 1)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("is retried as before while its client waits", () =>
    Effect.gen(function*() {
      const { get, server } = yield* setup
      yield* server.script(Fault.status(429, { headers: { "retry-after": "3" } }))
      const fiber = yield* Effect.fork(get)
      assert.strictEqual(yield* awaitSleep((ms) => ms < 60_000), 3_000)
      yield* TestClock.adjust(3_000)
      assert.deepStrictEqual(yield* Fiber.join(fiber), { n: 1 })
      assert.lengthOf(yield* server.requests, 2)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})
