/**
 * Graceful shutdown of `HttpApp.serve`: closing its scope stops accepting
 * connections, lets in-flight requests finish, and bounds the wait by
 * `server.shutdownGraceMs`.
 */
import { HttpServer } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { Context, Deferred, Effect, Exit, Fiber, Layer, Option, Scope, TestClock, TestServices } from "effect"
import * as Net from "node:net"
import * as HttpApp from "../src/HttpApp.js"
import { chatBody } from "./support/Client.js"
import { echoGateway, meta, response, services } from "./support/Doubles.js"

/** A gateway whose answers wait for `release`; `started` completes when a request arrives. */
const held = (started: Deferred.Deferred<void>, release: Deferred.Deferred<void>) =>
  Gateway.of({
    complete: (_request, _r, options) =>
      Deferred.succeed(started, undefined).pipe(
        Effect.zipRight(Deferred.await(release)),
        Effect.as({ response: response("finished"), meta: meta(options?.requestId) })
      ),
    stream: echoGateway.stream
  })

const start = (gateway: Gateway["Type"], grace: number) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(
      HttpApp.serve({ port: 0, host: "127.0.0.1" }).pipe(Layer.provide(services(gateway, { shutdownGraceMs: grace }))),
      scope
    )
    const address = Context.get(context, HttpServer.HttpServer).address
    const port = address._tag === "TcpAddress" ? address.port : 0
    return { scope, url: `http://127.0.0.1:${port}`, port }
  })

const chat = (url: string) =>
  Effect.promise(() =>
    fetch(`${url}/v1/chat/completions`, { method: "POST", body: JSON.stringify(chatBody()) }).then(
      async (r) => ({ status: r.status, body: await r.text() }),
      (e: unknown) => ({ status: 0, body: String(e) })
    )
  )

/** Whether a new TCP connection to `port` is accepted. */
const accepts = (port: number) =>
  Effect.async<boolean>((resume) => {
    const socket = Net.connect(port, "127.0.0.1")
    socket.once("connect", () => {
      socket.destroy()
      resume(Effect.succeed(true))
    })
    socket.once("error", () => resume(Effect.succeed(false)))
  })

describe("graceful shutdown", () => {
  it.live("stops accepting, then finishes the in-flight request before closing", () =>
    Effect.gen(function* () {
      const started = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const server = yield* start(held(started, release), 10_000)
      const inFlight = yield* Effect.fork(chat(server.url))
      yield* Deferred.await(started)

      const closing = yield* Effect.fork(Scope.close(server.scope, Exit.void))
      // New connections are refused while the in-flight request is still running.
      yield* Effect.repeat(accepts(server.port), { until: (ok) => !ok })
      assert.isTrue(Option.isNone(yield* Fiber.poll(closing)))

      yield* Deferred.succeed(release, undefined)
      const answer = yield* Fiber.join(inFlight)
      assert.strictEqual(answer.status, 200)
      assert.include(answer.body, "finished")
      yield* Fiber.join(closing)
    }))

  it.effect("waits at most shutdownGraceMs for a request that does not finish", () =>
    Effect.gen(function* () {
      const started = yield* Deferred.make<void>()
      const never = yield* Deferred.make<void>()
      const server = yield* start(held(started, never), 5_000)
      const inFlight = yield* Effect.fork(TestServices.provideLive(chat(server.url)))
      yield* Deferred.await(started)

      const closing = yield* Effect.fork(Scope.close(server.scope, Exit.void))
      // Wait until the drain is sleeping on the grace period, then let it pass.
      yield* Effect.repeat(TestClock.sleeps(), { until: (sleeps) => sleeps.length > 0 })
      yield* TestClock.adjust("4999 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(closing)))
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(closing)
      const answer = yield* Fiber.join(inFlight)
      assert.strictEqual(answer.status, 0, "the unfinished request's connection is closed")
    }))
})
