/**
 * A body over `server.maxBodyBytes` must reach the client as the
 * documented 413, also when the client sends the whole body before reading
 * the answer (fetch / undici, Node's http client, the OpenAI SDKs). Closing
 * the connection while the client is still uploading makes it see EPIPE /
 * ECONNRESET ("fetch failed") instead, and SDKs retry such errors.
 */
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import * as ChildProcess from "node:child_process"
import type * as Http from "node:http"
import { PassThrough } from "node:stream"
import { drain } from "../src/http/Body.js"
import * as HttpApp from "../src/HttpApp.js"
import { chatBody, post } from "./support/Client.js"
import { baseUrl, echoGateway, serverLayer, services } from "./support/Doubles.js"

const limit = 4_096
const size = 2 * 1024 * 1024

/** `modelgate serve`'s own listener (the hot route claimed below the platform) on port 0. */
const served = HttpApp.serve({ port: 0, host: "127.0.0.1" }).pipe(
  Layer.provide(services(echoGateway, { maxBodyBytes: limit })),
  Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map())))
)

/**
 * Upload `size` bytes `times` times from another process (as a real client is: in one process the
 * server's reads and the client's writes take turns on one event loop and hide the race), with fetch
 * (a Content-Length body, as SDKs send it) or Node's http client chunked (the limit found while reading);
 * what the client saw each time.
 */
const upload = (mode: "fetch" | "chunked", times = 5) =>
  Effect.flatMap(baseUrl, (url) =>
    Effect.async<ReadonlyArray<string>>((resume) => {
      const script = `
        const http = require("node:http")
        const url = ${JSON.stringify(url)} + "/v1/chat/completions"
        const size = ${size}
        const viaFetch = () => fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: Buffer.alloc(size, "a") })
          .then(async (r) => r.status + " " + JSON.parse(await r.text()).error.code, (e) => "error " + (e.cause?.code ?? e.message))
        const viaHttp = () => new Promise((resolve) => {
          const req = http.request(url, { method: "POST", headers: { "content-type": "application/json" } }, (res) => {
            let t = ""; res.setEncoding("utf8"); res.on("data", (c) => (t += c))
            res.on("end", () => resolve(res.statusCode + " " + JSON.parse(t).error.code))
          })
          req.on("error", (e) => resolve("error " + e.code))
          const piece = Buffer.alloc(64 * 1024, "a")
          for (let sent = 0; sent < size; sent += piece.length) req.write(piece)
          req.end()
        })
        ;(async () => { const out = []; for (let i = 0; i < ${times}; i++) out.push(await (${mode === "fetch" ? "viaFetch" : "viaHttp"})()); console.log(JSON.stringify(out)) })()`
      ChildProcess.execFile(process.execPath, ["-e", script], (error, stdout) =>
        resume(error === null ? Effect.succeed(JSON.parse(stdout) as ReadonlyArray<string>) : Effect.die(error)))
    }))

const expect413 = (mode: "fetch" | "chunked") =>
  Effect.gen(function* () {
    const seen = yield* upload(mode)
    assert.deepStrictEqual(seen, seen.map(() => "413 request_too_large"))
    const reply = yield* post("/v1/chat/completions", chatBody())
    assert.strictEqual(reply.status, 200)
  })

describe("Oversized bodies", () => {
  describe("through HttpApp.layer", () => {
    it.layer(serverLayer(echoGateway, { maxBodyBytes: limit }))((it) => {
    it.effect("a declared (Content-Length) body over the limit is answered 413, never a reset", () => expect413("fetch"), 60_000)
    it.effect("a chunked body over the limit is answered 413, never a reset", () => expect413("chunked"), 60_000)
    })
  })

  describe("through HttpApp.serve (modelgate serve)", () => {
    it.layer(served)((it) => {
    it.effect("a declared (Content-Length) body over the limit is answered 413, never a reset", () => expect413("fetch"), 60_000)
    it.effect("a chunked body over the limit is answered 413, never a reset", () => expect413("chunked"), 60_000)
    })
  })
})

describe("drain", () => {
  it("answers at the body's end, or at once past its limit of discarded bytes", () => {
    const ended = new PassThrough()
    let calls = 0
    drain(ended as unknown as Http.IncomingMessage, () => void calls++, 100)
    ended.write(Buffer.alloc(50))
    ended.end()
    return new Promise<void>((resolve) => setImmediate(() => {
      assert.strictEqual(calls, 1, "answered once the body ended")
      const endless = new PassThrough()
      let answered = 0
      drain(endless as unknown as Http.IncomingMessage, () => void answered++, 100)
      endless.write(Buffer.alloc(60))
      endless.write(Buffer.alloc(60))
      setImmediate(() => {
        assert.strictEqual(answered, 1, "answered past the limit, without waiting for an end that may never come")
        endless.write(Buffer.alloc(60))
        endless.end()
        setImmediate(() => {
          assert.strictEqual(answered, 1, "answered once")
          resolve()
        })
      })
    }))
  })
})
