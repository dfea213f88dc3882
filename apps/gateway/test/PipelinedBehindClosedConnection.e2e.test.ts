/**
 * A request pipelined behind one whose connection then closes (the gateway
 * closes it after a 413, or the client leaves while the first is answered):
 * Node never gives the queued request's response a socket, nor tells it the
 * connection is gone. It must still end: nothing stays in flight, so
 * shutdown does not sit out its grace period for a request whose client is
 * long gone, and a core call behind it is interrupted, not left running.
 * Under `modelgate serve` and with the app embedded on a host's own Node
 * server (`HttpApp.layer`), which Node treats the same. Also the wording of
 * the 413 for a chunked body found too large while read.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { Deferred, Effect, Exit, Scope } from "effect"
import { chatBody } from "./support/Client.js"
import { echoGateway, lastText } from "./support/Doubles.js"
import { chatHead, connect, embedWith, serveWith } from "./support/Served.js"

const chat = (content: string, path = "/v1/chat/completions") => {
  const body = JSON.stringify(chatBody({ messages: [{ role: "user", content }] }))
  return `${chatHead(`content-length: ${Buffer.byteLength(body)}`).replace("/v1/chat/completions", path)}${body}`
}
const health = "GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n"
const bound = "1500 millis"
// Longer than the bound: a request left in flight makes shutdown wait for all of it.
const grace = { shutdownGraceMs: 3_000 }

const shutsDownAtOnce = (scope: Scope.CloseableScope, what: string) =>
  // Disconnected: the timeout answers at the bound while a shutdown stuck in its grace period goes on behind it.
  Effect.disconnect(Scope.close(scope, Exit.void)).pipe(Effect.timeoutFail({ duration: bound, onTimeout: () => `shutdown waited for ${what}` }))

for (const [host, start] of [["modelgate serve", serveWith], ["HttpApp.layer", embedWith]] as const) {
  describe(`${host}: a request pipelined behind a connection that closes`, () => {
    for (const [name, second] of [["the chat route", chat("second")], ["a routed chat request", chat("second", "/v1/chat/completions?x=1")], ["GET /health", health]] as const) {
      it.live(`behind a 413 (the gateway closes the connection): ${name} ends`, () =>
        Effect.gen(function* () {
          const server = yield* start(echoGateway, { ...grace, maxBodyBytes: 64 })
          const raw = yield* connect(server.port, chat("x".repeat(200)) + second)
          const text = yield* raw.closed.pipe(Effect.timeoutFail({ duration: bound, onTimeout: () => `still open; received: ${raw.received()}` }))
          assert.match(text, /^HTTP\/1\.1 413 /)
          assert.strictEqual(text.split("HTTP/1.1 ").length - 1, 1, "the connection closes after the 413")
          yield* shutsDownAtOnce(server.scope, `${name} pipelined behind the 413`)
        }))
    }

    it.live("behind a request its client leaves: the queued ones end, and the core call of the queued chat request is interrupted", () =>
      Effect.gen(function* () {
        const started = yield* Deferred.make<void>()
        const interrupted = yield* Deferred.make<void>()
        // Both chat requests reach the core (pipelined requests are served at once, their answers queued) and wait there.
        const gateway = Gateway.of({
          complete: (request) =>
            lastText(request) === "first"
              ? Effect.never
              : Effect.zipRight(Deferred.succeed(started, undefined), Effect.never).pipe(Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))),
          stream: echoGateway.stream
        })
        const server = yield* start(gateway, grace)
        const raw = yield* connect(server.port, chat("first") + chat("second") + health)
        yield* Deferred.await(started).pipe(Effect.timeoutFail({ duration: bound, onTimeout: () => "the second request never reached the core" }))
        raw.socket.destroy()
        yield* Deferred.await(interrupted).pipe(Effect.timeoutFail({ duration: bound, onTimeout: () => "the queued request's core call was left running" }))
        yield* shutsDownAtOnce(server.scope, "the requests pipelined behind the one left")
      }))

    it.live("a chunked body found too large while read is refused with a well-worded 413", () =>
      Effect.gen(function* () {
        const server = yield* start(echoGateway, { maxBodyBytes: 64 })
        const body = JSON.stringify(chatBody({ messages: [{ role: "user", content: "x".repeat(200) }] }))
        const raw = yield* connect(server.port, `${chatHead("transfer-encoding: chunked")}${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`)
        const text = yield* raw.closed.pipe(Effect.timeoutFail({ duration: bound, onTimeout: () => `still open; received: ${raw.received()}` }))
        assert.match(text, /^HTTP\/1\.1 413 /)
        assert.include(text, `"request body exceeds the limit of 64 bytes"`)
        yield* shutsDownAtOnce(server.scope, "the refused request")
      }))
  })
}
