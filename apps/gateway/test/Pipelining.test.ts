/**
 * HTTP/1.1 pipelining on `modelgate serve`: two requests written at once on
 * one connection are answered in the order they were sent, even when the
 * second one's answer is ready first (the hot route writes straight to Node's
 * response, which must still queue behind the first).
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { Deferred, Effect, Exit, Scope } from "effect"
import { chatBody } from "./support/Client.js"
import { echoGateway, lastText } from "./support/Doubles.js"
import { chatHead, connect, serveWith } from "./support/Served.js"

const request = (content: string) => {
  const body = JSON.stringify(chatBody({ messages: [{ role: "user", content }] }))
  return `${chatHead(`content-length: ${Buffer.byteLength(body)}`)}${body}`
}

describe("pipelining", () => {
  it.live("two chat requests on one connection are answered in order, the slow first one first", () =>
    Effect.gen(function* () {
      // The first answer waits until the second has been answered by the core (or 500 ms, if it never comes).
      const second = yield* Deferred.make<void>()
      const gateway = Gateway.of({
        complete: (request, requirements, options) =>
          lastText(request) === "first"
            ? Effect.zipRight(Effect.timeout(Deferred.await(second), "500 millis").pipe(Effect.ignore), echoGateway.complete(request, requirements, options))
            : Effect.tap(echoGateway.complete(request, requirements, options), () => Deferred.succeed(second, undefined)),
        stream: echoGateway.stream
      })
      const server = yield* serveWith(gateway)
      const raw = yield* connect(server.port, request("first") + request("second"))
      const text = yield* raw.waitFor("chat.completion\"", 2).pipe(Effect.timeoutFail({ duration: "1500 millis", onTimeout: () => raw.received() }))
      assert.isTrue(yield* Deferred.isDone(second), "the second was answered by the core while the first waited")
      const first = text.indexOf("echo: first")
      const then = text.indexOf("echo: second")
      assert.isTrue(first >= 0 && then > first, `answers in order; received: ${text}`)
      assert.strictEqual(text.split("HTTP/1.1 200 OK").length - 1, 2)
      raw.socket.destroy()
      yield* Scope.close(server.scope, Exit.void)
    }))
})
