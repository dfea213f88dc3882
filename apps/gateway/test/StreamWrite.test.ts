/**
 * The SSE writer over a real socket: large streams arrive whole and in order
 * (backpressure), a client that leaves mid-stream interrupts the chunk stream
 * (the provider call is released) and does not hold up shutdown, and a
 * failure after the start ends with an error event and no `[DONE]`; a
 * stream's cost comes as a trailer.
 */
import { HttpServer } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { StreamInterrupted } from "@modelgate/domain/ProviderError"
import { Context, Deferred, Effect, Exit, Layer, Scheduler, Scope, Stream } from "effect"
import * as Http from "node:http"
import * as Net from "node:net"
import * as HttpApp from "../src/HttpApp.js"
import { chatBody } from "./support/Client.js"
import { endsWithClockStill } from "./support/ClockStill.js"
import { chunk, echoGateway, meta, services } from "./support/Doubles.js"

const start = (gateway: Gateway["Type"]) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(
      HttpApp.serve({ port: 0, host: "127.0.0.1" }).pipe(Layer.provide(services(gateway, { shutdownGraceMs: 10_000 }))),
      scope
    )
    const address = Context.get(context, HttpServer.HttpServer).address
    const port = address._tag === "TcpAddress" ? address.port : 0
    return { scope, url: `http://127.0.0.1:${port}`, port }
  })

/** A gateway whose streams are `chunks`. */
const streaming = (chunks: () => Stream.Stream<ReturnType<typeof chunk>, StreamInterrupted>) =>
  Gateway.of({
    complete: echoGateway.complete,
    stream: (_request, _requirements, options) => Effect.succeed({ meta: meta(options?.requestId, { costUsd: undefined }), chunks: chunks() })
  })

const postStream = (url: string) =>
  Effect.promise(async () => {
    const response = await fetch(`${url}/v1/chat/completions`, { method: "POST", body: JSON.stringify(chatBody({ stream: true })) })
    return { status: response.status, headers: response.headers, text: await response.text() }
  })

/** A scheduler that hands control back to the event loop every few operations (socket events land between steps). */
const interleaving: Scheduler.Scheduler = {
  shouldYield: (fiber) => (fiber.currentOpCount > 16 ? 0 : false),
  scheduleTask: (task) => setImmediate(task)
}

/** A raw client that sends one streamed chat request, then resets its connection after `turns` event-loop turns. */
const abortStreamAfter = (port: number, turns: number) =>
  Effect.async<void>((resume) => {
    const body = JSON.stringify(chatBody({ stream: true }))
    const socket = Net.connect(port, "127.0.0.1", () => {
      socket.write(
        `POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
      )
      const after = (n: number): void => {
        if (n === 0) {
          socket.resetAndDestroy()
          resume(Effect.void)
        } else setImmediate(() => after(n - 1))
      }
      after(turns)
    })
    socket.on("error", () => resume(Effect.void))
  })

/** The `data:` payloads of an SSE body. */
const events = (text: string) =>
  text.split("\n\n").filter((e) => e.startsWith("data: ")).map((e) => e.slice("data: ".length))

describe("SSE writer", () => {
  it.live("a large stream arrives whole and in order, then [DONE]", () =>
    Effect.gen(function* () {
      const n = 400
      const big = "x".repeat(10_000)
      const server = yield* start(streaming(() => Stream.range(1, n).pipe(Stream.map((i) => chunk(`${i}:${big}`)))))
      const reply = yield* postStream(server.url)
      assert.strictEqual(reply.status, 200)
      assert.strictEqual(reply.headers.get("content-type"), "text/event-stream")
      assert.strictEqual(reply.headers.get("cache-control"), "no-cache")
      const data = events(reply.text)
      assert.strictEqual(data.length, n + 1)
      assert.strictEqual(data[n], "[DONE]")
      const indices = data.slice(0, n).map((d) => Number((JSON.parse(d) as { choices: Array<{ delta: { content: string } }> }).choices[0]!.delta.content.split(":")[0]))
      assert.deepStrictEqual(indices, Array.from({ length: n }, (_, i) => i + 1))
      yield* Scope.close(server.scope, Exit.void)
    }))

  it.live("a failure after the start ends with an error event, no [DONE]", () =>
    Effect.gen(function* () {
      const server = yield* start(
        streaming(() =>
          Stream.concat(
            Stream.make(chunk("partial")),
            Stream.fail(new StreamInterrupted({ provider: "openai", model: "gpt-test", detail: "cut" }))
          )
        )
      )
      const reply = yield* postStream(server.url)
      const data = events(reply.text)
      assert.strictEqual(data.length, 2)
      assert.include(data[0]!, "partial")
      assert.property(JSON.parse(data[1]!), "error")
      assert.notInclude(reply.text, "[DONE]")
      yield* Scope.close(server.scope, Exit.void)
    }))

  it.live("a stream's cost, known at its end, comes as the x-modelgate-cost-usd trailer", () =>
    Effect.gen(function* () {
      let cost: number | undefined
      const server = yield* start(
        Gateway.of({
          complete: echoGateway.complete,
          stream: (_request, _requirements, options) =>
            Effect.succeed({
              meta: meta(options?.requestId, { costUsd: undefined }),
              // settled when the chunks end, as the core's streams are
              chunks: Stream.concat(Stream.make(chunk("a"), chunk("b")), Stream.drain(Stream.fromEffect(Effect.sync(() => (cost = 0.0000045))))),
              settledCostUsd: () => cost
            })
        })
      )
      const reply = yield* Effect.async<{ trailerHeader: unknown; trailers: NodeJS.Dict<string>; text: string }>((resume) => {
        const body = JSON.stringify(chatBody({ stream: true }))
        const req = Http.request(`${server.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" } }, (res) => {
          let text = ""
          res.setEncoding("utf8")
          res.on("data", (d: string) => (text += d))
          res.on("end", () => resume(Effect.succeed({ trailerHeader: res.headers.trailer, trailers: res.trailers, text })))
        })
        req.end(body)
      })
      assert.strictEqual(reply.trailerHeader, "x-modelgate-cost-usd")
      assert.strictEqual(reply.trailers["x-modelgate-cost-usd"], "0.0000045")
      assert.strictEqual(events(reply.text).at(-1), "[DONE]")
      yield* Scope.close(server.scope, Exit.void)
    }))

  it.effect("a client leaving mid-stream interrupts the chunk stream and does not hold up shutdown", () =>
    Effect.gen(function* () {
      const released = yield* Deferred.make<void>()
      const server = yield* start(
        streaming(() =>
          Stream.concat(Stream.make(chunk("first")), Stream.never).pipe(Stream.ensuring(Deferred.succeed(released, undefined)))
        )
      )
      // A raw client: read until the first event, then reset the connection.
      yield* Effect.async<void>((resume) => {
        const body = JSON.stringify(chatBody({ stream: true }))
        const socket = Net.connect(server.port, "127.0.0.1", () => {
          socket.write(
            `POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
          )
        })
        let got = ""
        socket.on("data", (d: Buffer) => {
          got += d.toString()
          if (got.includes("data: ")) {
            socket.resetAndDestroy()
            resume(Effect.void)
          }
        })
        socket.on("error", () => resume(Effect.void))
      })
      yield* endsWithClockStill(Deferred.await(released), "the chunk stream released when its client left")
      // No time passes on the test clock: shutdown must not wait for the departed stream.
      yield* endsWithClockStill(Scope.close(server.scope, Exit.void), "shutdown (it must not wait for the departed stream)")
    }))

  it.effect("streams whose clients leave at any step do not hold up shutdown", () =>
    Effect.gen(function* () {
      const server = yield* start(
        streaming(() => Stream.make(chunk("a"), chunk("b"), chunk("c", true), chunk(undefined)).pipe(Stream.rechunk(1)))
      ).pipe(Effect.withScheduler(interleaving))
      yield* Effect.forEach(Array.from({ length: 60 }, (_, i) => i), (n) => abortStreamAfter(server.port, n), { concurrency: 4 })
      yield* endsWithClockStill(Scope.close(server.scope, Exit.void), "shutdown (it must not wait for the departed streams)")
    }))
})
