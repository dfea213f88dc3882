/**
 * `modelgate serve` against slow clients, with its Node timeouts shortened in
 * `server.timeouts` (the same mechanism, in milliseconds instead of minutes;
 * expiries are then checked every `headersMs`, not every 30 s): a client that
 * trickles its headers (slowloris) or never finishes its body is answered 408
 * and closed, and holds nothing (the core never sees it, shutdown does not wait
 * for it); an idle keep-alive connection is closed after the keep-alive
 * timeout (Node 20 adds 1 s to it, so clients reusing the connection just
 * before it ends are not cut); a streamed answer longer than the request timeout is not cut (the
 * request timeout covers receiving the request, not the answer).
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { Clock, Effect, Exit, Fiber, Schedule, Scope, Stream } from "effect"
import { chatBody } from "./support/Client.js"
import { chunk, echoGateway, meta } from "./support/Doubles.js"
import { chatHead, connect, serveWith } from "./support/Served.js"

const timeouts = { headersMs: 200, requestMs: 300, keepAliveMs: 50 }
const bound = "1500 millis"

/** The echo gateway, counting the requests that reach it; its stream sends `pieces` chunks 100 ms apart. */
const counting = (pieces = 0) => {
  const seen = { calls: 0 }
  const gateway = Gateway.of({
    complete: (request, requirements, options) =>
      Effect.suspend(() => {
        seen.calls++
        return echoGateway.complete(request, requirements, options)
      }),
    stream: (_request, _requirements, options) =>
      Effect.sync(() => {
        seen.calls++
        return {
          meta: meta(options?.requestId, { costUsd: undefined }),
          chunks: Stream.range(1, pieces).pipe(Stream.schedule(Schedule.spaced("100 millis")), Stream.map((i) => chunk(`piece ${i} `)))
        }
      })
  })
  return { gateway, seen }
}

const closedWithin = (closed: Effect.Effect<string>, what: string) =>
  closed.pipe(Effect.timeoutFail({ duration: bound, onTimeout: () => `${what}: the connection is still open` }))

describe("slow clients", () => {
  it.live("a client trickling its headers (slowloris) is answered 408 and closed after the headers timeout", () =>
    Effect.gen(function* () {
      const server = yield* serveWith(echoGateway, { timeouts })
      const start = yield* Clock.currentTimeMillis
      const raw = yield* connect(server.port, "POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\n")
      // A header line every 50 ms, never the blank line that ends them.
      const trickle = yield* Effect.fork(Effect.repeat(Effect.sync(() => raw.socket.write("x-slow: 1\r\n")), Schedule.spaced("50 millis")))
      const text = yield* closedWithin(raw.closed, "slowloris")
      const elapsed = (yield* Clock.currentTimeMillis) - start
      assert.isAtLeast(elapsed, timeouts.headersMs, "closed by the headers timeout, not before")
      assert.match(text, /^HTTP\/1\.1 408 /)
      yield* Fiber.interrupt(trickle)
      yield* Scope.close(server.scope, Exit.void)
    }))

  it.live("a body that never finishes is answered 408 and closed after the request timeout; the core never sees it", () =>
    Effect.gen(function* () {
      const { gateway, seen } = counting()
      const server = yield* serveWith(gateway, { timeouts })
      const start = yield* Clock.currentTimeMillis
      const raw = yield* connect(server.port, `${chatHead("content-length: 1000")}{"model":"auto",`)
      const text = yield* closedWithin(raw.closed, "stalled upload")
      assert.isAtLeast((yield* Clock.currentTimeMillis) - start, timeouts.requestMs)
      assert.match(text, /^HTTP\/1\.1 408 /)
      assert.strictEqual(seen.calls, 0)
      // Nothing is left in flight: shutdown does not sit out its grace period (10 s) for it.
      yield* Scope.close(server.scope, Exit.void).pipe(Effect.timeoutFail({ duration: "1 second", onTimeout: () => "shutdown waited for the stalled upload" }))
    }))

  it.live("a streamed answer lasting longer than the request timeout is not cut", () =>
    Effect.gen(function* () {
      const { gateway } = counting(8)
      const server = yield* serveWith(gateway, { timeouts })
      const text = yield* Effect.promise(() =>
        fetch(`http://127.0.0.1:${server.port}/v1/chat/completions`, { method: "POST", body: JSON.stringify(chatBody({ stream: true })) }).then((r) => r.text())
      )
      assert.include(text, "piece 8 ", "every chunk arrived (the stream took ~800 ms, over twice the request timeout)")
      assert.isTrue(text.endsWith("data: [DONE]\n\n"))
      yield* Scope.close(server.scope, Exit.void)
    }))

  it.live("an idle keep-alive connection is closed after the keep-alive timeout", () =>
    Effect.gen(function* () {
      const server = yield* serveWith(echoGateway, { timeouts })
      const raw = yield* connect(server.port, "GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
      yield* raw.waitFor("\r\n\r\n")
      const answered = yield* Clock.currentTimeMillis
      assert.include(raw.received(), "keep-alive")
      yield* closedWithin(raw.closed, "idle keep-alive connection")
      assert.isAtLeast((yield* Clock.currentTimeMillis) - answered, timeouts.keepAliveMs)
      yield* Scope.close(server.scope, Exit.void)
    }))
})
