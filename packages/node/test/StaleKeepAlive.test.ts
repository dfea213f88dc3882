/**
 * A kept-alive connection the upstream closes (or resets) just as the
 * gateway reuses it: the request was never processed, so HttpClientLive
 * sends it once more on a fresh connection instead of failing the call (a
 * provider failure: failover, or a 502, and a strike against health, with
 * `maxRetries: 0` and for probes). A raw node:net server on loopback answers
 * the first request of each connection and drops the connection when a
 * second one comes on it.
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import * as HttpClientLive from "@modelgate/node/HttpClientLive"
import * as StaleConnection from "@modelgate/node/StaleConnection"
import { Deferred, Effect, Layer } from "effect"
import * as net from "node:net"
import { Agent, buildConnector, request } from "undici"

type Drop = "close" | "reset"

/** A server answering each connection's first request, dropping the connection at its second. */
const dropsReused = (drop: Drop) =>
  Effect.acquireRelease(
    Effect.async<{ url: string; server: net.Server; connections: () => number }>((resume) => {
      let connections = 0
      const sockets = new Set<net.Socket>()
      const server = net.createServer((socket) => {
        connections++
        sockets.add(socket)
        socket.on("close", () => sockets.delete(socket))
        let requests = 0
        let buffered = ""
        socket.on("data", (chunk) => {
          buffered += chunk.toString("latin1")
          while (buffered.includes("\r\n\r\n")) {
            const end = buffered.indexOf("\r\n\r\n") + 4
            const length = Number(/content-length: *(\d+)/i.exec(buffered.slice(0, end))?.[1] ?? 0)
            if (buffered.length < end + length) return
            buffered = buffered.slice(end + length)
            requests++
            if (requests === 1) {
              socket.write("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok")
            } else if (drop === "close") {
              socket.end()
            } else {
              socket.resetAndDestroy()
            }
          }
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as net.AddressInfo
        resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, server, connections: () => connections }))
      })
      Object.assign(server, { sockets })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        for (const socket of (server as unknown as { sockets: Set<net.Socket> }).sockets) socket.destroy()
        server.close(() => resume(Effect.void))
      })
  )

/**
 * Two turns of the event loop: undici holds a connection back for one turn
 * after its answer (to see a FIN already there) before it reuses it.
 */
const connectionIdle = Effect.async<void>((resume) => {
  setImmediate(() => setImmediate(() => resume(Effect.void)))
})

const post = (url: string) => HttpClientRequest.post(`${url}/v1/chat/completions`).pipe(HttpClientRequest.bodyText("{}"))

/** The lean client (tracer off, as `modelgate serve` runs) and the platform's (tracer on, trace propagated). */
const clients = [
  ["lean client", Layer.merge(HttpClientLive.layer, Layer.setTracerEnabled(false))],
  ["platform client", HttpClientLive.layer]
] as const

describe.each(clients)("HttpClientLive (%s) over a kept-alive connection the upstream drops as it is reused", (_, live) => {
  for (const drop of ["close", "reset"] as const) {
    it.scoped(`a ${drop} before any answer is sent again on a fresh connection`, () =>
      Effect.gen(function*() {
        const server = yield* dropsReused(drop)
        const client = yield* HttpClient.HttpClient
        const first = yield* client.execute(post(server.url))
        assert.strictEqual(yield* first.text, "ok")
        yield* connectionIdle
        const second = yield* client.execute(post(server.url))
        assert.strictEqual(second.status, 200)
        assert.strictEqual(yield* second.text, "ok")
        assert.strictEqual(server.connections(), 2)
      }).pipe(Effect.provide(live)))
  }

  it.scoped("a connection closed before any answer on a fresh connection is not sent again", () =>
    Effect.gen(function*() {
      let connections = 0
      const server = yield* Effect.acquireRelease(
        Effect.async<net.Server>((resume) => {
          const s = net.createServer((socket) => {
            connections++
            socket.once("data", () => socket.end())
          })
          s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
        }),
        (s) => Effect.async<void>((resume) => {
          s.close(() => resume(Effect.void))
        })
      )
      const { port } = server.address() as net.AddressInfo
      const client = yield* HttpClient.HttpClient
      const error = yield* Effect.flip(client.execute(post(`http://127.0.0.1:${port}`)))
      assert.strictEqual(error._tag, "RequestError")
      assert.strictEqual(connections, 1)
    }).pipe(Effect.provide(live)))
})

describe("a reset long after the request was sent", () => {
  it.scoped("is not sent again: the provider may have worked on it (a load balancer cutting a long call), and a resend would bill it twice", () =>
    Effect.gen(function*() {
      const server = yield* dropsReused("reset")
      // The interceptor's clock: each reading 1.5 s after the one before (the reset comes 1.5 s after the sending).
      let clock = 0
      const agent = new Agent().compose(StaleConnection.resendTimed(() => (clock += 1_500)))
      yield* Effect.addFinalizer(() => Effect.promise(() => agent.close()))
      const send = () => Effect.promise(() => request(`${server.url}/v1/chat/completions`, { method: "POST", body: "{}", dispatcher: agent }).then(
        async (answer) => ({ status: answer.statusCode, text: await answer.body.text() }),
        (error: { code?: string }) => ({ status: 0, text: error.code ?? "failed" })
      ))
      assert.deepStrictEqual(yield* send(), { status: 200, text: "ok" })
      yield* connectionIdle
      const second = yield* send()
      assert.strictEqual(second.status, 0, "the reset reaches the caller")
      assert.strictEqual(server.connections(), 1, "no second connection: not sent again")
    }))
})

describe("a request its caller aborts while it is sent again", () => {
  it.scoped("before the fresh connection opens: the caller sees the abort, not an answer (the provider would work on a call nobody reads)", () =>
    Effect.gen(function*() {
      const server = yield* dropsReused("close")
      const connect = buildConnector({})
      const opening = yield* Deferred.make<void>()
      const open = yield* Deferred.make<void>()
      // The second connection (the one the request is sent again on) opens when the test says so.
      const agent = new Agent({
        connect: (options, callback) => {
          if (server.connections() === 0) return connect(options, callback)
          Deferred.unsafeDone(opening, Effect.void)
          void Effect.runPromise(Deferred.await(open)).then(() => connect(options, callback))
        }
      }).compose(StaleConnection.resend)
      yield* Effect.addFinalizer(() => Effect.promise(() => agent.destroy()))
      const send = (signal?: AbortSignal) =>
        request(`${server.url}/v1/chat/completions`, { method: "POST", body: "{}", dispatcher: agent, signal: signal ?? null }).then(
          async (answer) => ({ status: answer.statusCode, text: await answer.body.text() }),
          (error: Error) => ({ status: 0, text: error.name })
        )
      assert.deepStrictEqual(yield* Effect.promise(() => send()), { status: 200, text: "ok" })
      yield* connectionIdle
      const caller = new AbortController()
      const second = send(caller.signal)
      yield* Deferred.await(opening)
      caller.abort()
      yield* Deferred.succeed(open, undefined)
      assert.deepStrictEqual(yield* Effect.promise(() => second), { status: 0, text: "AbortError" })
    }))
})
