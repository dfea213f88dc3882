/**
 * `Fault.hold`: the fake records a request and answers it only when the test
 * opens the gate, so latency can be driven by `TestClock` (see FakeServer.ts).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Option, TestClock } from "effect"
import { type Answer, Fault, type FakeProvider, make } from "../src/FakeServer.js"

const toy: FakeProvider = {
  name: "toy",
  handle: (request): Answer => ({ _tag: "Json", status: 200, body: { ok: true, path: request.path }, tokens: 10 }),
  errorAnswer: ({ message, status }) => ({ body: JSON.stringify({ error: { message, status } }), headers: {} })
}

const fetchStatus = (url: string) => Effect.promise(() => fetch(url).then(async (res) => ({ status: res.status, text: await res.text() })))

describe("FakeServer hold", () => {
  it.scoped("holds every request until the gate opens, then answers them normally", () =>
    Effect.gen(function*() {
      const server = yield* make(toy)
      const gate = yield* Effect.makeLatch(false)
      yield* server.persist(Fault.hold(gate))
      const calls = yield* Effect.fork(Effect.forEach([1, 2, 3], (i) => fetchStatus(`${server.url}/r${i}`), { concurrency: "unbounded" }))
      yield* server.awaitHeld(3)
      expect(yield* server.held).toBe(3)
      expect((yield* server.requests).map((r) => r.path).sort()).toEqual(["/r1", "/r2", "/r3"])
      // held, whatever time passes for the test: nothing is answered before the gate opens
      yield* TestClock.adjust("1 hour")
      expect(yield* server.held).toBe(3)
      expect(Option.isNone(yield* Fiber.poll(calls))).toBe(true)
      yield* gate.open
      const answers = yield* Fiber.join(calls)
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200])
      expect(JSON.parse(answers[0]!.text)).toEqual({ ok: true, path: "/r1" })
      expect(yield* server.held).toBe(0)
      // an open gate holds nothing
      expect((yield* fetchStatus(server.url)).status).toBe(200)
    }))

  it.scoped("a scripted hold applies to one request, then its `then` fault", () =>
    Effect.gen(function*() {
      const server = yield* make(toy)
      const gate = yield* Effect.makeLatch(false)
      yield* server.script(Fault.hold(gate, Fault.status(503)))
      const held = yield* Effect.fork(fetchStatus(server.url))
      yield* server.awaitHeld(1)
      // the next request is not held
      expect((yield* fetchStatus(server.url)).status).toBe(200)
      expect(yield* server.held).toBe(1)
      yield* gate.open
      expect((yield* Fiber.join(held)).status).toBe(503)
    }))

  it.scoped("awaitHeld dies when too few requests arrive in time", () =>
    Effect.gen(function*() {
      const server = yield* make(toy)
      const exit = yield* Effect.exit(server.awaitHeld(1, 30))
      expect(Exit.isFailure(exit) && !Exit.isInterrupted(exit)).toBe(true)
      expect(String(Exit.isFailure(exit) ? exit.cause : "")).toContain("0 requests held after 30 ms, waiting for 1")
    }))

  it.scoped("closing the server ends held requests (the client sees the connection close)", () =>
    Effect.gen(function*() {
      const gate = yield* Effect.makeLatch(false)
      const outcome = yield* Effect.scoped(
        Effect.gen(function*() {
          const server = yield* make(toy)
          yield* server.persist(Fault.hold(gate))
          const call = yield* Effect.fork(Effect.promise(() => fetch(server.url).then(() => "answered", () => "failed")))
          yield* server.awaitHeld(1)
          return call
        })
      )
      expect(yield* Fiber.join(outcome)).toBe("failed")
    }))
})
