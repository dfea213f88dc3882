/**
 * Graceful shutdown of `HttpApp.serve`: closing its scope stops accepting
 * connections, lets in-flight requests finish, and bounds the wait by
 * `server.shutdownGraceMs`.
 */
import { HttpServer } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import type { Gateway } from "@modelgate/core/Gateway"
import { Context, Deferred, Effect, Exit, Fiber, Layer, Option, Scheduler, Scope, TestClock, TestServices } from "effect"
import * as Net from "node:net"
import * as HttpApp from "../src/HttpApp.js"
import { chatBody } from "./support/Client.js"
import { endsWithClockStill } from "./support/ClockStill.js"
import { echoGateway, heldGateway, services } from "./support/Doubles.js"
import { accepts } from "./support/Tcp.js"

const held = heldGateway

/**
 * A scheduler that hands control back to the event loop every few operations,
 * so socket events land between any two steps of a request: also between the
 * handler's answer and the writing of the response.
 */
const interleaving: Scheduler.Scheduler = {
  shouldYield: (fiber) => (fiber.currentOpCount > 16 ? 0 : false),
  scheduleTask: (task) => setImmediate(task)
}

/** After `turns` turns of the event loop. */
const afterTurns = (turns: number, f: () => void): void => {
  if (turns === 0) f()
  else setImmediate(() => afterTurns(turns - 1, f))
}

/** A raw HTTP/1.1 client that sends one chat request, then resets its connection after `turns` event-loop turns. */
const abortAfter = (port: number, turns: number, sent: "whole" | "half" = "whole") =>
  Effect.async<void>((resume) => {
    const body = JSON.stringify(chatBody())
    const socket = Net.connect(port, "127.0.0.1", () => {
      socket.write(
        `POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${
          sent === "whole" ? body : body.slice(0, body.length >> 1)
        }`
      )
      afterTurns(turns, () => {
        socket.resetAndDestroy()
        resume(Effect.void)
      })
    })
    socket.on("error", () => resume(Effect.void))
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

describe("graceful shutdown", () => {
  it.effect("stops accepting, then finishes the in-flight request before closing", () =>
    Effect.gen(function* () {
      const started = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      // The grace period is on the TestClock, which stands still: only the request's end lets the shutdown finish.
      const server = yield* start(held(started, release), 10_000)
      const inFlight = yield* Effect.fork(TestServices.provideLive(chat(server.url)))
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

  it.effect("does not wait for requests whose clients went away, whenever they left", () =>
    Effect.gen(function* () {
      const server = yield* start(echoGateway, 10_000).pipe(Effect.withScheduler(interleaving))
      // Clients leave at every step of their request: before the gateway answers, while the answer is written, after.
      // (an answer takes about 20 turns here)
      yield* Effect.forEach(Array.from({ length: 60 }, (_, i) => i), (n) => abortAfter(server.port, n), { concurrency: 4 })
      // And before their body was complete (the server is still reading it).
      yield* Effect.forEach(Array.from({ length: 20 }, (_, i) => i), (n) => abortAfter(server.port, n, "half"), { concurrency: 4 })
      // No time passes on the test clock: a drain that waits for a request nobody will finish never completes.
      yield* endsWithClockStill(Scope.close(server.scope, Exit.void), "shutdown (it must not wait for the grace period)")
      assert.isFalse(yield* accepts(server.port), "the listener is closed")
    }))
})
