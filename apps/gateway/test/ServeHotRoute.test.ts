/**
 * `HttpApp.serve` claims `POST /v1/chat/completions` at Node's `request`
 * event and serves it below the platform's per-request pipeline: these tests
 * hold that route, over a real socket, to what the routed path promises
 * (auth, request ids, body limit, errors, defects logged, 503 while draining,
 * a client leaving interrupts its request and never holds up the drain), and
 * check that every other request still reaches the platform's handler.
 */
import { HttpServer } from "@effect/platform"
import { assert, describe, it, layer } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { ConfigProvider, Context, Deferred, Effect, Exit, Fiber, Layer, Logger, LogLevel, Option, Scope, TestServices } from "effect"
import * as Net from "node:net"
import * as HttpApp from "../src/HttpApp.js"
import { chatBody, post, request } from "./support/Client.js"
import { echoGateway, lastText, meta, response, type ServerOptions, services } from "./support/Doubles.js"
import { accepts } from "./support/Tcp.js"

/** What the server logged at Error level, with its cause. */
const errors: Array<string> = []
const capture = Logger.replace(
  Logger.defaultLogger,
  Logger.make(({ cause, logLevel, message }) => {
    if (LogLevel.greaterThanEqual(logLevel, LogLevel.Error)) errors.push(`${String(message)} ${String(cause)}`)
  })
)

/** `modelgate serve`'s layer on port 0 over the doubles; `MODELGATE_MASTER_KEY` from `options.masterKey` only. */
const served = (gateway: Gateway["Type"], options: ServerOptions = {}) =>
  HttpApp.serve({ port: 0, host: "127.0.0.1" }).pipe(
    Layer.provide(services(gateway, { shutdownGraceMs: 10_000, ...options })),
    Layer.provide(
      Layer.setConfigProvider(
        ConfigProvider.fromMap(new Map(options.masterKey === undefined ? [] : [["MODELGATE_MASTER_KEY", options.masterKey]]))
      )
    ),
    Layer.provide(capture)
  )

/** The served layer in a scope of its own, so a test can shut it down. */
const start = (gateway: Gateway["Type"]) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(served(gateway), scope)
    const address = Context.get(context, HttpServer.HttpServer).address
    return { scope, port: address._tag === "TcpAddress" ? address.port : 0 }
  })

/** One HTTP/1.1 request as raw text (a chat body unless `body` is given). */
const rawChat = (body: string, headers: Record<string, string> = {}) => {
  const lines = Object.entries({ host: "127.0.0.1", "content-type": "application/json", "content-length": String(Buffer.byteLength(body)), ...headers })
  return `POST /v1/chat/completions HTTP/1.1\r\n${lines.map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n${body}`
}

interface RawReply {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: string
}

/** A raw HTTP/1.1 connection: send bytes, read answers (each with a content length) in order, or reset it. */
const connect = (port: number) =>
  Effect.async<{
    readonly send: (text: string) => Effect.Effect<void>
    readonly replies: (n: number) => Effect.Effect<ReadonlyArray<RawReply>>
    readonly reset: Effect.Effect<void>
  }>((resume) => {
    let data = Buffer.alloc(0)
    let closed = false
    const replies: Array<RawReply> = []
    const waiting = new Set<() => void>()
    const parse = () => {
      for (;;) {
        const end = data.indexOf("\r\n\r\n")
        if (end < 0) return
        const [statusLine, ...lines] = data.subarray(0, end).toString("latin1").split("\r\n")
        const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]))
        const length = Number(headers["content-length"] ?? 0)
        if (data.length < end + 4 + length) return
        replies.push({ status: Number(statusLine!.split(" ")[1]), headers, body: data.subarray(end + 4, end + 4 + length).toString("utf8") })
        data = data.subarray(end + 4 + length)
      }
    }
    const socket = Net.connect(port, "127.0.0.1", () =>
      resume(Effect.succeed({
        send: (text) => Effect.sync(() => void socket.write(text)),
        replies: (n) =>
          Effect.async<ReadonlyArray<RawReply>>((done) => {
            const check = () => {
              if (replies.length < n && !closed) return
              waiting.delete(check)
              done(Effect.succeed(replies.slice(0, n)))
            }
            waiting.add(check)
            check()
          }),
        reset: Effect.sync(() => void socket.resetAndDestroy())
      })))
    const notify = () => [...waiting].forEach((check) => check())
    socket.on("data", (chunk: Buffer) => {
      data = Buffer.concat([data, chunk])
      parse()
      notify()
    })
    socket.on("close", () => {
      closed = true
      notify()
    })
    socket.on("error", () => {})
  })

/** Bounded by the live clock, for what a broken implementation would never do. */
const within = <A>(effect: Effect.Effect<A>) => TestServices.provideLive(Effect.option(Effect.timeout(effect, "3 seconds")))

const key = "mk-serve-secret"

describe("serve: the hot route below the platform's pipeline", () => {
  layer(served(echoGateway), { excludeTestServices: true })((it) => {
    it.effect("answers JSON and SSE with the modelgate headers, and 400s naming the field, like the routed path", () =>
      Effect.gen(function* () {
        for (const path of ["/v1/chat/completions", "/v1/chat/completions?via=router"]) {
          const reply = yield* post(path, chatBody(), { "x-request-id": "h-1" })
          assert.strictEqual(reply.status, 200, path)
          assert.strictEqual(reply.headers.get("content-type"), "application/json")
          assert.strictEqual(reply.headers.get("x-request-id"), "h-1")
          assert.strictEqual(reply.headers.get("x-modelgate-model"), "gpt-test")
          assert.strictEqual(reply.headers.get("x-modelgate-cost-usd"), "0.0000015")
          assert.strictEqual(reply.json.choices[0].message.content, "echo: hello")
          const streamed = yield* post(path, chatBody({ stream: true }))
          assert.strictEqual(streamed.headers.get("content-type"), "text/event-stream")
          assert.match(streamed.headers.get("x-request-id") ?? "", /^mg-/)
          assert.isTrue(streamed.text.endsWith("data: [DONE]\n\n"))
          const bad = yield* post(path, { model: "auto", messages: [] }, { "x-request-id": "h-2" })
          assert.strictEqual(bad.status, 400)
          assert.strictEqual(bad.json.error.param, "messages")
          assert.strictEqual(bad.headers.get("x-request-id"), "h-2")
        }
        // Everything else still goes through the platform's handler.
        assert.strictEqual((yield* request("/health")).status, 200)
        assert.strictEqual((yield* request("/v1/models")).json.object, "list")
        const get = yield* request("/v1/chat/completions")
        assert.strictEqual(get.status, 405, "GET is not the hot route: the router answers it")
        assert.strictEqual(get.headers.get("allow"), "POST")
      }))
  })

  layer(served(echoGateway, { masterKey: key }), { excludeTestServices: true })((it) => {
    it.effect("with a master key, a missing or wrong key is a 401 with the request id", () =>
      Effect.gen(function* () {
        const none = yield* post("/v1/chat/completions", chatBody(), { "x-request-id": "k-1" })
        assert.strictEqual(none.status, 401)
        assert.strictEqual(none.json.error.code, "invalid_api_key")
        assert.strictEqual(none.headers.get("x-request-id"), "k-1")
        const wrong = yield* post("/v1/chat/completions", chatBody(), { authorization: "Bearer nope" })
        assert.strictEqual(wrong.status, 401)
        assert.match(wrong.headers.get("x-request-id") ?? "", /^mg-/)
        const right = yield* post("/v1/chat/completions", chatBody(), { authorization: `Bearer ${key}` })
        assert.strictEqual(right.status, 200)
      }))
  })

  const limit = 4_096
  layer(served(echoGateway, { maxBodyBytes: limit }), { excludeTestServices: true })((it) => {
    it.effect("a body over the limit is a 413 with the request id that closes the connection, by Content-Length and while reading", () =>
      Effect.gen(function* () {
        const port = yield* Effect.map(HttpServer.HttpServer, (s) => (s.address._tag === "TcpAddress" ? s.address.port : 0))
        const big = JSON.stringify(chatBody({ messages: [{ role: "user", content: "x".repeat(limit) }] }))
        const declared = yield* connect(port)
        yield* declared.send(rawChat(big, { "x-request-id": "l-1" }))
        const [byLength] = yield* declared.replies(1)
        assert.strictEqual(byLength?.status, 413)
        assert.strictEqual(byLength?.headers["x-request-id"], "l-1")
        assert.strictEqual(byLength?.headers["connection"], "close")
        assert.include(JSON.parse(byLength!.body).error.message, `limit of ${limit} bytes`)

        const chunked = yield* connect(port)
        const piece = "a".repeat(1_024)
        const chunks = Array.from({ length: 8 }, () => `${piece.length.toString(16)}\r\n${piece}\r\n`).join("")
        yield* chunked.send(
          `POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\nx-request-id: l-2\r\ntransfer-encoding: chunked\r\n\r\n${chunks}0\r\n\r\n`
        )
        const [whileReading] = yield* chunked.replies(1)
        assert.strictEqual(whileReading?.status, 413)
        assert.strictEqual(whileReading?.headers["x-request-id"], "l-2")
        assert.strictEqual(whileReading?.headers["connection"], "close")
        assert.strictEqual((yield* post("/v1/chat/completions", chatBody())).status, 200, "still serving")
      }))
  })

  const dying = Gateway.of({ complete: () => Effect.die("bug-in-gateway"), stream: () => Effect.die("bug-in-gateway") })
  layer(served(dying), { excludeTestServices: true })((it) => {
    it.effect("a defect is a 500 with the request id and no details; the defect is logged", () =>
      Effect.gen(function* () {
        for (const stream of [false, true]) {
          errors.length = 0
          const reply = yield* post("/v1/chat/completions", chatBody({ stream }), { "x-request-id": "d-1" })
          assert.strictEqual(reply.status, 500)
          assert.strictEqual(reply.json.error.code, "internal_error")
          assert.notInclude(reply.text, "bug-in-gateway")
          assert.strictEqual(reply.headers.get("x-request-id"), "d-1")
          assert.isTrue(errors.some((e) => e.includes("request failed") && e.includes("bug-in-gateway")), errors.join("\n"))
        }
        assert.strictEqual((yield* request("/health")).status, 200)
      }))
  })

  /** A gateway whose answers to the texts in `held` wait for their release; the rest echo. */
  const holding = (held: Record<string, { started: Deferred.Deferred<void>; release: Deferred.Deferred<void>; interrupted?: Deferred.Deferred<void> }>) =>
    Gateway.of({
      complete: (req, requirements, options) => {
        const hold = held[lastText(req)]
        if (hold === undefined) return echoGateway.complete(req, requirements, options)
        return Deferred.succeed(hold.started, undefined).pipe(
          Effect.zipRight(Deferred.await(hold.release)),
          Effect.onInterrupt(() => (hold.interrupted === undefined ? Effect.void : Deferred.succeed(hold.interrupted, undefined))),
          Effect.as({ response: response(`finished ${lastText(req)}`), meta: meta(options?.requestId) })
        )
      },
      stream: echoGateway.stream
    })

  const hold = Effect.all({ started: Deferred.make<void>(), release: Deferred.make<void>(), interrupted: Deferred.make<void>() })

  it.effect("while draining, a new hot request is a 503 shutting_down with its request id; in-flight ones finish", () =>
    Effect.gen(function* () {
      const a = yield* hold
      const b = yield* hold
      const server = yield* start(holding({ a, b }))
      // Two requests in flight on two connections; the drain waits for both.
      const first = yield* connect(server.port)
      yield* first.send(rawChat(JSON.stringify(chatBody({ messages: [{ role: "user", content: "a" }] }))))
      yield* Deferred.await(a.started)
      const second = yield* connect(server.port)
      yield* second.send(rawChat(JSON.stringify(chatBody({ messages: [{ role: "user", content: "b" }] }))))
      yield* Deferred.await(b.started)

      const closing = yield* Effect.fork(Scope.close(server.scope, Exit.void))
      yield* Effect.repeat(accepts(server.port), { until: (ok) => !ok })
      // A request pipelined on a busy connection arrives while draining.
      yield* first.send(rawChat(JSON.stringify(chatBody()), { "x-request-id": "late-1" }))
      yield* Deferred.succeed(a.release, undefined)
      const [answered, refused] = yield* first.replies(2)
      assert.strictEqual(answered?.status, 200)
      assert.include(answered?.body, "finished a")
      assert.strictEqual(refused?.status, 503)
      assert.strictEqual(JSON.parse(refused!.body).error.code, "shutting_down")
      assert.strictEqual(refused?.headers["x-request-id"], "late-1")
      assert.strictEqual(refused?.headers["connection"], "close")

      assert.isTrue(Option.isNone(yield* Fiber.poll(closing)), "the drain still waits for the other request")
      yield* Deferred.succeed(b.release, undefined)
      const [last] = yield* second.replies(1)
      assert.strictEqual(last?.status, 200)
      assert.include(last?.body, "finished b")
      assert.isTrue(Option.isSome(yield* within(Fiber.join(closing))))
    }))

  it.effect("a client leaving interrupts its request, and the drain does not wait for it", () =>
    Effect.gen(function* () {
      const gone = yield* hold
      const server = yield* start(holding({ gone }))
      const client = yield* connect(server.port)
      yield* client.send(rawChat(JSON.stringify(chatBody({ messages: [{ role: "user", content: "gone" }] }))))
      yield* Deferred.await(gone.started)
      yield* client.reset
      assert.isTrue(Option.isSome(yield* within(Deferred.await(gone.interrupted))), "the gateway call was interrupted")
      // No time passes on the test clock: a drain waiting on the departed request would wait out the grace period.
      const closing = yield* Effect.fork(Scope.close(server.scope, Exit.void))
      assert.isTrue(Option.isSome(yield* within(Fiber.join(closing))), "shutdown completed without the grace period")
    }))
})
