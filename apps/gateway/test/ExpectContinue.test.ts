/**
 * `Expect: 100-continue` (curl sends it for bodies over 1 KiB) on
 * `modelgate serve`: a body the gateway would refuse from its headers alone
 * is refused before the client uploads it (no `100 Continue`), and any other
 * body is invited with `100 Continue` and answered; on the chat route and on
 * the admin routes that take a body (their own 1 MiB limit).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { chatBody } from "./support/Client.js"
import { echoGateway } from "./support/Doubles.js"
import { chatHead, connect, serveWith } from "./support/Served.js"

const limit = 4_096
const bound = "1 second"
const adminLimit = 1024 * 1024

/** A request's head: `method path` with the master key and `headers` (lines without CRLF). */
const adminHead = (method: string, path: string, ...headers: ReadonlyArray<string>): string =>
  `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer sk-master\r\ncontent-type: application/json\r\n${headers.map((h) => `${h}\r\n`).join("")}\r\n`

/** The first answer on a connection that sent `head` and nothing of its body: the refusal with `code`, and the connection closed. */
const refusedAtOnce = (port: number, head: string, status: number, code: string) =>
  Effect.gen(function* () {
    // Nothing of the body is ever sent: the answer must come from the headers alone.
    const raw = yield* connect(port, head)
    const text = yield* raw.waitFor(code).pipe(Effect.timeoutFail({ duration: bound, onTimeout: () => `no answer; received: ${raw.received()}` }))
    assert.match(text, new RegExp(`^HTTP/1\\.1 ${status} `), "the first thing the client sees is the refusal, not 100 Continue")
    assert.notInclude(text, "100 Continue")
    yield* raw.closed.pipe(Effect.timeoutFail({ duration: bound, onTimeout: () => "the connection stayed open" }))
  })

const body = JSON.stringify(chatBody({ messages: [{ role: "user", content: "x".repeat(2_000) }] }))
const length = `content-length: ${Buffer.byteLength(body)}`

/** A connection that sent `head`: invited with `100 Continue`, then, once it sent `body`, answered 200 with `marker`. */
const invitedThenAnswered = (port: number, head: string, marker: string) =>
  Effect.gen(function* () {
    const raw = yield* connect(port, head)
    const invited = yield* raw.waitFor("\r\n\r\n").pipe(Effect.timeoutFail({ duration: bound, onTimeout: () => "no 100 Continue" }))
    assert.match(invited, /^HTTP\/1\.1 100 Continue\r\n\r\n$/)
    raw.socket.write(body)
    const text = yield* raw.waitFor(marker).pipe(Effect.timeoutFail({ duration: bound, onTimeout: () => `no answer; received: ${raw.received()}` }))
    assert.include(text, "HTTP/1.1 200 OK")
    raw.socket.destroy()
  })

describe("Expect: 100-continue", () => {
  it.live("a body declared over the limit is answered 413 at once, without inviting the upload", () =>
    Effect.gen(function* () {
      const server = yield* serveWith(echoGateway, { maxBodyBytes: limit })
      yield* refusedAtOnce(server.port, chatHead("content-length: 100000000", "expect: 100-continue"), 413, "request_too_large")
      yield* Scope.close(server.scope, Exit.void)
    }))

  it.live("an encoded body is answered 415 at once, without inviting the upload", () =>
    Effect.gen(function* () {
      const server = yield* serveWith(echoGateway, { maxBodyBytes: limit })
      yield* refusedAtOnce(server.port, chatHead("content-length: 2000", "content-encoding: gzip", "expect: 100-continue"), 415, "unsupported_content_encoding")
      yield* Scope.close(server.scope, Exit.void)
    }))

  it.live("a body within the limit is invited with 100 Continue, then answered", () =>
    Effect.gen(function* () {
      const server = yield* serveWith(echoGateway, { maxBodyBytes: limit })
      yield* invitedThenAnswered(server.port, chatHead(length, "expect: 100-continue"), "chat.completion")
      yield* Scope.close(server.scope, Exit.void)
    }))

  it.live("the admin routes that take a body refuse a body over their limit (413) or encoded (415) at once", () =>
    Effect.gen(function* () {
      // The chat limit is larger than the admin one: the admin route's own limit holds.
      const server = yield* serveWith(echoGateway, { masterKey: "sk-master", maxBodyBytes: 10 * adminLimit })
      const over = `content-length: ${adminLimit + 1}`
      yield* refusedAtOnce(server.port, adminHead("POST", "/admin/models", over, "expect: 100-continue"), 413, "request_too_large")
      yield* refusedAtOnce(server.port, adminHead("POST", "/admin/select", over, "expect: 100-continue"), 413, "request_too_large")
      yield* refusedAtOnce(server.port, adminHead("PATCH", "/admin/models/gpt-test?x=1", over, "expect: 100-continue"), 413, "request_too_large")
      yield* refusedAtOnce(server.port, adminHead("PATCH", "/admin/models/gpt-test", "content-length: 20", "content-encoding: br", "expect: 100-continue"), 415, "unsupported_content_encoding")
      yield* Scope.close(server.scope, Exit.void)
    }))

  it.live("an admin body within the limit is invited with 100 Continue, then answered", () =>
    Effect.gen(function* () {
      const server = yield* serveWith(echoGateway, { masterKey: "sk-master" })
      yield* invitedThenAnswered(server.port, adminHead("POST", "/admin/select", length, "expect: 100-continue"), "ranked")
      yield* Scope.close(server.scope, Exit.void)
    }))
})
