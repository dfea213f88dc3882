/**
 * `server.timeouts.writeStallMs` when the app is embedded through
 * `HttpApp.layer` on the host's own Node server (README, "Using the
 * library"), its ticker on the TestClock: a client that stops reading a
 * whole answer has its connection closed once it took nothing for a whole
 * interval, as under `modelgate serve`. Before, only `HttpApp.serve` guarded
 * its connections: an embedded gateway held a stalled client's socket (and
 * its request) forever.
 */
import { assert, describe, it } from "@effect/vitest"
import { NodeHttpServer } from "@effect/platform-node"
import { Gateway } from "@modelgate/core/Gateway"
import { Clock, Deferred, Effect, Exit, FiberId, Layer, Option } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Net from "node:net"
import * as HttpApp from "../src/HttpApp.js"
import { endsWithClockStill } from "./support/ClockStill.js"
import { meta, response, services } from "./support/Doubles.js"
import { TestClock } from "effect"

const stallMs = 60_000
/** Far more than the sockets' buffers hold on both ends. */
const big = "x".repeat(32 * 1024 * 1024)

const bigAnswer = Gateway.of({
  complete: (_request, _requirements, options) => Effect.succeed({ response: response(big), meta: meta(options?.requestId) }),
  stream: () => Effect.dieMessage("not used")
})

const live = Clock.make()

/** Poll in real time (at most 10 s) until `ok` holds. */
const until = (ok: () => boolean, what: string) =>
  Effect.gen(function* () {
    const end = live.unsafeCurrentTimeMillis() + 10_000
    while (!ok()) {
      if (live.unsafeCurrentTimeMillis() > end) return assert.fail(`${what}: not within 10 s`)
      yield* Effect.sleep(5).pipe(Effect.withClock(live))
    }
  })

describe("WriteStall under HttpApp.layer", () => {
  it.scoped("on the host's own Node server, a client that stops reading a whole answer is cut after a whole interval without progress", () =>
    Effect.gen(function* () {
      const node = Http.createServer()
      const sockets: Array<Net.Socket> = []
      const closed = Deferred.unsafeMake<void>(FiberId.none)
      node.on("connection", (socket: Net.Socket) => {
        sockets.push(socket)
        socket.once("close", () => Deferred.unsafeDone(closed, Exit.void))
      })
      yield* Layer.build(
        Layer.fresh(HttpApp.layer).pipe(
          Layer.provideMerge(NodeHttpServer.layer(() => node, { port: 0, host: "127.0.0.1" })),
          Layer.provideMerge(services(bigAnswer, { timeouts: { writeStallMs: stallMs } }))
        )
      )
      const port = (node.address() as AddressInfo).port
      const body = JSON.stringify({ model: "gpt-test", messages: [{ role: "user", content: "hi" }] })
      const client = yield* Effect.acquireRelease(
        Effect.async<Net.Socket>((resume) => {
          const socket = Net.connect(port, "127.0.0.1", () => {
            socket.pause()
            socket.write(
              `POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
            )
            resume(Effect.succeed(socket))
          })
          socket.on("error", () => {})
        }),
        (socket) => Effect.sync(() => socket.destroy())
      )
      assert.isFalse(client.destroyed)
      yield* until(() => (sockets[0]?.writableLength ?? 0) > 0, "the answer's bytes pending")
      yield* TestClock.adjust(stallMs)
      yield* Effect.yieldNow()
      assert.isTrue(Option.isNone(yield* Deferred.poll(closed)), "not cut before a whole interval without progress")
      yield* TestClock.adjust(stallMs)
      yield* endsWithClockStill(Deferred.await(closed), "the stalled connection closed")
    }))
})
