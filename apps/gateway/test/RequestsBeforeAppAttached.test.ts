/**
 * The Node server listens while the layers are still being built, before the
 * app is attached (the dashboard's files are read then). A request that
 * arrives in between must be answered once the app is there, not left
 * hanging without a `request` listener.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import type { AddressInfo } from "node:net"
import { DispatchServer } from "../src/http/NodeDispatch.js"

const get = (port: number, path: string) =>
  Effect.promise(() => fetch(`http://127.0.0.1:${port}${path}`).then((r) => r.text()))

describe("requests that arrive before the app is attached", () => {
  it.live("are held, then answered in order when the server opens", () =>
    Effect.gen(function* () {
      const server = new DispatchServer({})
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => void server.listen(0, "127.0.0.1", () => resume(Effect.void))),
        () => Effect.sync(() => server.closeAllConnections()).pipe(Effect.zipRight(Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))))
      )
      const port = (server.address() as AddressInfo).port
      const early = yield* Effect.fork(Effect.all([get(port, "/a"), get(port, "/b")], { concurrency: "unbounded" }))
      // Both requests reached the server while nothing listens for them.
      yield* Effect.sync(() => server.held).pipe(Effect.repeat({ until: (n) => n === 2, schedule: Schedule.spaced("5 millis") }), Effect.timeout("5 seconds"))
      server.on("request", (req, res) => res.end(`answered ${req.url}`))
      server.open()
      const answers = yield* early.await.pipe(Effect.flatten, Effect.timeout("5 seconds"))
      assert.deepStrictEqual(answers, ["answered /a", "answered /b"])
      assert.strictEqual(server.held, 0)
      // Once open, a request goes straight to the listener.
      assert.strictEqual(yield* get(port, "/c"), "answered /c")
    }).pipe(Effect.scoped))
})
