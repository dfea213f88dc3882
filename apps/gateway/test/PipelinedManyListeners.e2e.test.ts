/**
 * Many requests pipelined on one keep-alive connection: each queued answer
 * watches the connection's close (`NodeDispatch.endsWithConnection`), and a
 * burst of them must not read as a listener leak (Node's
 * MaxListenersExceededWarning on the socket) nor leave listeners behind once
 * answered.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { echoGateway } from "./support/Doubles.js"
import { connect, serveWith } from "./support/Served.js"

const health = "GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n"

describe("many requests pipelined on one connection", () => {
  it.live("are all answered with no MaxListenersExceededWarning on the socket", () =>
    Effect.gen(function* () {
      const warnings: Array<string> = []
      const onWarning = (warning: Error) => {
        if (warning.name === "MaxListenersExceededWarning") warnings.push(warning.message)
      }
      process.on("warning", onWarning)
      yield* Effect.addFinalizer(() => Effect.sync(() => process.off("warning", onWarning)))
      const server = yield* serveWith(echoGateway)
      const requests = 40
      const raw = yield* connect(server.port, health.repeat(requests))
      yield* raw.waitFor("HTTP/1.1 200", requests).pipe(Effect.timeoutFail({ duration: "3 seconds", onTimeout: () => `received: ${raw.received()}` }))
      // Node emits a warning on the tick after the listener that passed the limit (added as the requests were read).
      yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
      assert.deepStrictEqual(warnings, [])
      raw.socket.destroy()
      yield* Scope.close(server.scope, Exit.void)
    }).pipe(Effect.scoped))
})
