/**
 * `/v1/events` follows `server.sseKeepAliveMs` when it is shorter than its
 * 15 s (an operator behind a proxy that cuts connections idle for 10 s sets
 * it for every SSE answer); a longer setting, or 0 (chat keep-alives off),
 * keeps 15 s, which the dashboard relies on to tell a gateway gone.
 */
import { HttpServer } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Context, Deferred, Effect, Exit, Fiber, Layer, Scope, Stream, TestClock } from "effect"
import * as Http from "node:http"
import * as HttpApp from "../src/HttpApp.js"
import * as Info from "../src/http/Info.js"
import { echoGateway, services } from "./support/Doubles.js"

const decoder = new TextDecoder()
const connected = ": connected\nretry: 5000\n\n"
const keepAlive = ": keep-alive\n\n"

/** The pieces `GET /v1/events` sends while the clock moves by `steps`, with its keep-alive every `keepAliveMs`. */
const sent = (keepAliveMs: number, steps: ReadonlyArray<number>) =>
  Effect.gen(function* () {
    const closing = yield* Deferred.make<void>()
    const info = yield* Info.make(Deferred.await(closing), () => true, keepAliveMs)
    const body = (yield* info.eventStream()).body
    if (body._tag !== "Stream") return assert.fail("not a stream")
    const received: Array<Array<string>> = [[]]
    const reader = yield* Effect.fork(Stream.runForEach(Stream.orDie(body.stream), (bytes) => Effect.sync(() => received.at(-1)!.push(decoder.decode(bytes)))))
    for (const step of steps) {
      yield* TestClock.adjust(step)
      received.push([])
    }
    yield* Deferred.succeed(closing, undefined)
    yield* Fiber.join(reader)
    return received.slice(0, -1)
  }).pipe(Effect.provide(services(echoGateway)))

describe("/v1/events keep-alive and server.sseKeepAliveMs", () => {
  it.effect("a setting shorter than 15 s is followed; a longer one, or 0, keeps 15 s", () =>
    Effect.gen(function* () {
      assert.strictEqual(Info.eventsKeepAliveMs(5_000), 5_000)
      assert.strictEqual(Info.eventsKeepAliveMs(60_000), 15_000)
      assert.strictEqual(Info.eventsKeepAliveMs(0), 15_000)
      assert.deepStrictEqual(yield* sent(5_000, [1, 4_998, 1, 5_000]), [[connected], [], [keepAlive], [keepAlive]])
    }))

  it.scoped("the server passes the setting to /v1/events", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(
        HttpApp.serve({ port: 0, host: "127.0.0.1" }).pipe(Layer.provide(services(echoGateway, { sseKeepAliveMs: 5_000 }))),
        scope
      )
      const address = Context.get(context, HttpServer.HttpServer).address
      const port = address._tag === "TcpAddress" ? address.port : 0
      let text = ""
      const wake: Array<() => void> = []
      const request = Http.get(`http://127.0.0.1:${port}/v1/events`, (res) => {
        res.setEncoding("utf8")
        res.on("data", (d: string) => {
          text += d
          wake.splice(0).forEach((w) => w())
        })
      })
      const seen = (part: string) => Effect.promise(() => new Promise<void>((resolve) => (text.includes(part) ? resolve() : wake.push(() => text.includes(part) && resolve()))))
      yield* seen(": connected")
      // At 15 s (the default) this would never come before the test's own timeout.
      yield* TestClock.adjust("5 seconds")
      yield* seen(": keep-alive")
      request.destroy()
      yield* Scope.close(scope, Exit.void)
    }))
})
