/**
 * HEAD on `modelgate serve` (load balancers and uptime checks use it): a GET
 * route answers HEAD with its status and headers and no body, and the
 * connection stays usable for the next request.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { echoGateway } from "./support/Doubles.js"
import { connect, serveWith } from "./support/Served.js"

describe("HEAD", () => {
  it.live("HEAD /health and HEAD /v1/models answer 200 without a body, then the connection serves a GET", () =>
    Effect.gen(function* () {
      const server = yield* serveWith(echoGateway)
      const raw = yield* connect(server.port, "HEAD /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\nHEAD /v1/models HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
      const heads = yield* raw.waitFor("\r\n\r\n", 2).pipe(Effect.timeoutFail({ duration: "1 second", onTimeout: () => raw.received() }))
      const answers = heads.split("\r\n\r\n")
      assert.match(answers[0]!, /^HTTP\/1\.1 200 /)
      assert.match(answers[1]!, /^HTTP\/1\.1 200 /, `no body between the answers: ${heads}`)
      raw.socket.write("GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
      const text = yield* raw.waitFor("HTTP/1.1 200", 3).pipe(Effect.timeoutFail({ duration: "1 second", onTimeout: () => raw.received() }))
      assert.match(text, /\r\n\r\n\{.*\}$/s, "the GET has its body")
      raw.socket.destroy()
      yield* Scope.close(server.scope, Exit.void)
    }))
})
