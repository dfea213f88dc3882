/**
 * On shutdown (SIGTERM) `modelgate serve` closes its idle keep-alive
 * connections at once, while it still waits for an in-flight request: they
 * neither hold the shutdown nor take new requests meanwhile.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { Deferred, Effect, Exit, Fiber, Option, Scope } from "effect"
import { chatBody } from "./support/Client.js"
import { echoGateway, meta, response } from "./support/Doubles.js"
import { connect, serveWith } from "./support/Served.js"

describe("shutdown and keep-alive", () => {
  it.live("idle keep-alive connections are closed at once while an in-flight request finishes", () =>
    Effect.gen(function* () {
      const started = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const gateway = Gateway.of({
        complete: (_request, _r, options) =>
          Deferred.succeed(started, undefined).pipe(Effect.zipRight(Deferred.await(release)), Effect.as({ response: response("finished"), meta: meta(options?.requestId) })),
        stream: echoGateway.stream
      })
      // Keep-alive timeout of 5 s (the default): only the shutdown can close the idle connection within the test.
      const server = yield* serveWith(gateway)
      const idle = yield* connect(server.port, "GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
      yield* idle.waitFor("\r\n\r\n")
      const inFlight = yield* Effect.fork(Effect.promise(() =>
        fetch(`http://127.0.0.1:${server.port}/v1/chat/completions`, { method: "POST", body: JSON.stringify(chatBody()) }).then((r) => r.status)
      ))
      yield* Deferred.await(started)

      const closing = yield* Effect.fork(Scope.close(server.scope, Exit.void))
      yield* idle.closed.pipe(Effect.timeoutFail({ duration: "500 millis", onTimeout: () => "the idle connection is still open" }))
      assert.isTrue(Option.isNone(yield* Fiber.poll(closing)), "the shutdown still waits for the in-flight request")

      yield* Deferred.succeed(release, undefined)
      assert.strictEqual(yield* Fiber.join(inFlight), 200)
      yield* Fiber.join(closing)
    }))
})
