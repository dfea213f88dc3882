/**
 * `WriteStall.guard` over real sockets, its ticker on the TestClock: a client
 * that stops reading a whole answer (its socket paused, its receive window
 * full) has its connection closed once it took nothing for a whole interval;
 * a connection with nothing pending (a model thinking before its next event,
 * an idle keep-alive) is never cut, however long.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, FiberId, Option, Scope, TestClock, TestServices } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Net from "node:net"
import * as WriteStall from "../src/http/WriteStall.js"
import { endsWithClockStill } from "./support/ClockStill.js"

const stallMs = 60_000
/** Far more than the sockets' buffers hold on both ends. */
const big = "x".repeat(32 * 1024 * 1024)

/** A Node server guarded by `WriteStall`: `/big` answers `big` whole, `/think` sends its headers and then nothing. */
const serve = Effect.gen(function* () {
  const scope = yield* Scope.make()
  const answered = Deferred.unsafeMake<Http.ServerResponse>(FiberId.none)
  const closed = Deferred.unsafeMake<void>(FiberId.none)
  const server = Http.createServer((req, res) => {
    res.once("close", () => Deferred.unsafeDone(closed, Exit.void))
    if (req.url === "/big") res.end(big)
    else res.writeHead(200, { "content-type": "text/event-stream" }).write(": opening\n\n")
    Deferred.unsafeDone(answered, Exit.succeed(res))
  })
  yield* Scope.extend(WriteStall.guard(server, stallMs), scope)
  yield* Effect.async<void>((resume) => {
    server.listen(0, "127.0.0.1", () => resume(Effect.void))
  })
  yield* Scope.addFinalizer(scope, Effect.sync(() => {
    server.closeAllConnections()
    server.close()
  }))
  return { scope, port: (server.address() as AddressInfo).port, answered, closed }
})

/** A client asking for `path`; `paused`: it never reads a byte. */
const ask = (port: number, path: string, paused: boolean) =>
  Effect.acquireRelease(
    Effect.async<Net.Socket>((resume) => {
      const socket = Net.connect(port, "127.0.0.1", () => {
        if (paused) socket.pause()
        socket.write(`GET ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n`)
        resume(Effect.succeed(socket))
      })
      socket.on("error", () => {})
    }),
    (socket) => Effect.sync(() => socket.destroy())
  )

/** Whether `closed` is done, after the fibers the clock woke have run. */
const isClosed = (closed: Deferred.Deferred<void>) => Effect.map(Effect.zipRight(Effect.yieldNow(), Deferred.poll(closed)), Option.isSome)

describe("WriteStall", () => {
  it.scoped("a client that stops reading a whole answer is cut once it took nothing for a whole interval", () =>
    Effect.gen(function* () {
      const s = yield* serve
      yield* ask(s.port, "/big", true)
      const res = yield* TestServices.provideLive(Deferred.await(s.answered))
      assert.isAbove(res.socket?.writableLength ?? 0, 0, "bytes are pending")
      yield* TestClock.adjust(stallMs)
      assert.isFalse(yield* isClosed(s.closed), "not cut before a whole interval without progress")
      yield* TestClock.adjust(stallMs)
      yield* endsWithClockStill(Deferred.await(s.closed), "the stalled connection closed")
      yield* Scope.close(s.scope, Exit.void)
    }))

  it.scoped("a connection with nothing pending is never cut, however long nothing is sent", () =>
    Effect.gen(function* () {
      const s = yield* serve
      const socket = yield* ask(s.port, "/think", false)
      yield* TestServices.provideLive(Deferred.await(s.answered))
      const read = yield* Effect.fork(TestServices.provideLive(Effect.async<void>((resume) => {
        socket.once("data", () => resume(Effect.void))
      })))
      yield* Fiber.join(read)
      for (let i = 0; i < 10; i++) yield* TestClock.adjust(stallMs)
      assert.isFalse(yield* isClosed(s.closed), "the quiet stream is still open")
      yield* Scope.close(s.scope, Exit.void)
    }))
})
