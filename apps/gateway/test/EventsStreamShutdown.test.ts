/**
 * `GET /v1/events` when the gateway shuts down (`HttpApp.serve`): an
 * operator's dashboard or `curl -N` sees the stream end cleanly (its last
 * chunk, as any finished answer), not a connection cut in the middle of a
 * response, which clients report as an error ("terminated", curl's exit 18)
 * and proxies log as an upstream that closed prematurely. Its connection is
 * closed then, even while other requests finish: a browser's `EventSource`
 * reconnecting over it would be answered the draining 503, and an
 * `EventSource` answered anything but 200 gives up for good.
 */
import { assert, describe, it } from "@effect/vitest"
import type { Gateway } from "@modelgate/core/Gateway"
import { Deferred, Effect, Exit, Fiber, Scope, TestServices } from "effect"
import * as Http from "node:http"
import { chatBody } from "./support/Client.js"
import { echoGateway, heldGateway } from "./support/Doubles.js"
import { serveWith } from "./support/Served.js"

/** How a response read to its end ended: complete (`end`) or cut (`aborted` / `error`), with its text. */
interface Outcome {
  readonly complete: boolean
  readonly text: string
}

/**
 * Open `GET /v1/events` on a keep-alive connection; `opened` resolves at its
 * first comment, `outcome` when the response ends however it ends, `closed`
 * when its connection closes.
 */
const subscribe = (port: number) => {
  let connected!: () => void
  const opened = new Promise<void>((resolve) => (connected = resolve))
  let socketClosed!: () => void
  const closed = new Promise<void>((resolve) => (socketClosed = resolve))
  const agent = new Http.Agent({ keepAlive: true, maxSockets: 1 })
  const outcome = new Promise<Outcome>((resolve) => {
    const request = Http.get({ host: "127.0.0.1", port, path: "/v1/events", agent }, (res) => {
      let text = ""
      res.setEncoding("utf8")
      res.on("data", (piece: string) => {
        text += piece
        if (text.includes(": connected")) connected()
      })
      res.on("end", () => resolve({ complete: res.complete, text }))
      res.on("aborted", () => resolve({ complete: false, text }))
      res.on("error", () => resolve({ complete: false, text }))
    })
    request.on("error", () => resolve({ complete: false, text: "" }))
    request.on("socket", (socket) => socket.once("close", socketClosed))
  })
  return { opened, outcome, closed }
}

const start = (gateway: Gateway["Type"]) => serveWith(gateway, { shutdownGraceMs: 10_000 })

const live = <A>(f: () => Promise<A>) => TestServices.provideLive(Effect.promise(f))

describe("/v1/events on shutdown", () => {
  it.effect("ends each open stream cleanly before the server closes its connections", () =>
    Effect.gen(function* () {
      // The grace period is on the TestClock, which stands still: the shutdown ends only once the streams did.
      const { port, scope } = yield* start(echoGateway)
      const streams = [subscribe(port), subscribe(port), subscribe(port)]
      yield* live(() => Promise.all(streams.map((s) => s.opened)))

      yield* Scope.close(scope, Exit.void)
      const outcomes = yield* live(() => Promise.all(streams.map((s) => s.outcome)))
      for (const outcome of outcomes) {
        assert.include(outcome.text, ": connected")
        assert.isTrue(outcome.complete, "the stream ended with its last chunk, not a cut connection")
      }
    }), { timeout: 10_000 })

  it.effect("closes the ended stream's connection while other requests still finish", () =>
    Effect.gen(function* () {
      const started = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const { port, scope } = yield* start(heldGateway(started, release))
      const stream = subscribe(port)
      yield* live(() => stream.opened)
      const chat = yield* Effect.fork(live(() =>
        fetch(`http://127.0.0.1:${port}/v1/chat/completions`, { method: "POST", body: JSON.stringify(chatBody()) }).then((r) => r.status)
      ))
      yield* Deferred.await(started)

      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      const outcome = yield* live(() => stream.outcome)
      assert.isTrue(outcome.complete, "the stream ended with its last chunk")
      const cut = yield* live(() =>
        Promise.race([stream.closed.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 2_000))])
      )
      assert.isTrue(cut, "the stream's connection is closed, not kept for a reconnect that would be answered 503")

      yield* Deferred.succeed(release, undefined)
      assert.strictEqual(yield* Fiber.join(chat), 200, "the in-flight request still finished")
      yield* Fiber.join(closing)
    }), { timeout: 10_000 })
})
