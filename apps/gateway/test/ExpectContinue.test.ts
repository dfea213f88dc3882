/**
 * `Expect: 100-continue` (curl sends it for bodies over 1 KiB) on
 * `modelgate serve`: a body the gateway would refuse from its headers alone
 * is refused before the client uploads it (no `100 Continue`), and any other
 * body is invited with `100 Continue` and answered.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { chatBody } from "./support/Client.js"
import { echoGateway } from "./support/Doubles.js"
import { chatHead, connect, serveWith } from "./support/Served.js"

const limit = 4_096
const bound = "1 second"

describe("Expect: 100-continue", () => {
  it.live("a body declared over the limit is answered 413 at once, without inviting the upload", () =>
    Effect.gen(function* () {
      const server = yield* serveWith(echoGateway, { maxBodyBytes: limit })
      const raw = yield* connect(server.port, chatHead("content-length: 100000000", "expect: 100-continue"))
      // Nothing of the body is ever sent: the answer must come from the headers alone.
      const text = yield* raw.waitFor("request_too_large").pipe(Effect.timeoutFail({ duration: bound, onTimeout: () => `no answer; received: ${raw.received()}` }))
      assert.match(text, /^HTTP\/1\.1 413 /, "the first thing the client sees is the 413, not 100 Continue")
      assert.notInclude(text, "100 Continue")
      yield* raw.closed.pipe(Effect.timeoutFail({ duration: bound, onTimeout: () => "the connection stayed open" }))
      yield* Scope.close(server.scope, Exit.void)
    }))

  it.live("an encoded body is answered 415 at once, without inviting the upload", () =>
    Effect.gen(function* () {
      const server = yield* serveWith(echoGateway, { maxBodyBytes: limit })
      const raw = yield* connect(server.port, chatHead("content-length: 2000", "content-encoding: gzip", "expect: 100-continue"))
      const text = yield* raw.waitFor("unsupported_content_encoding").pipe(Effect.timeoutFail({ duration: bound, onTimeout: () => `no answer; received: ${raw.received()}` }))
      assert.match(text, /^HTTP\/1\.1 415 /)
      yield* Scope.close(server.scope, Exit.void)
    }))

  it.live("a body within the limit is invited with 100 Continue, then answered", () =>
    Effect.gen(function* () {
      const server = yield* serveWith(echoGateway, { maxBodyBytes: limit })
      const body = JSON.stringify(chatBody({ messages: [{ role: "user", content: "x".repeat(2_000) }] }))
      const raw = yield* connect(server.port, chatHead(`content-length: ${Buffer.byteLength(body)}`, "expect: 100-continue"))
      const invited = yield* raw.waitFor("\r\n\r\n").pipe(Effect.timeoutFail({ duration: bound, onTimeout: () => "no 100 Continue" }))
      assert.match(invited, /^HTTP\/1\.1 100 Continue\r\n\r\n$/)
      raw.socket.write(body)
      const text = yield* raw.waitFor("chat.completion").pipe(Effect.timeoutFail({ duration: bound, onTimeout: () => `no answer; received: ${raw.received()}` }))
      assert.include(text, "HTTP/1.1 200 OK")
      raw.socket.destroy()
      yield* Scope.close(server.scope, Exit.void)
    }))
})
