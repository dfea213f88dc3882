/**
 * Server-sent event answers (a streamed chat completion, `GET /v1/events`)
 * carry `Cache-Control: no-cache` and `X-Accel-Buffering: no`, so that nginx
 * (and proxies that honour the same header) pass each event on as it is
 * written instead of buffering the stream and delivering it late or all at
 * once. Before, neither kind of stream sent `X-Accel-Buffering`.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { chatBody, readSse, requestAt } from "./support/Client.js"
import { baseUrl, echoGateway, serverLayer } from "./support/Doubles.js"
import { serveWith } from "./support/Served.js"

const unbuffered = (headers: Headers, what: string) => {
  assert.strictEqual(headers.get("content-type"), "text/event-stream", what)
  assert.strictEqual(headers.get("cache-control"), "no-cache", what)
  assert.strictEqual(headers.get("x-accel-buffering"), "no", what)
}

// The direct path and, with a query string, the router's path.
const streamedChats = (url: string) =>
  Effect.gen(function* () {
    for (const path of ["/v1/chat/completions", "/v1/chat/completions?via=router"]) {
      const reply = yield* requestAt(url, path, { method: "POST", body: JSON.stringify(chatBody({ stream: true })) })
      assert.strictEqual(reply.status, 200, reply.text)
      unbuffered(reply.headers, path)
      assert.isTrue(reply.text.endsWith("data: [DONE]\n\n"), path)
    }
  })

describe("SSE answers are not buffered by proxies", () => {
  it.live("modelgate serve: a streamed chat completion", () =>
    Effect.gen(function* () {
      const server = yield* serveWith(echoGateway)
      yield* streamedChats(`http://127.0.0.1:${server.port}`)
      yield* Scope.close(server.scope, Exit.void)
    }))

  layer(serverLayer(echoGateway), { excludeTestServices: true })((it) => {
    it.effect("HttpApp.layer: a streamed chat completion", () => Effect.flatMap(baseUrl, streamedChats))

    it.effect("GET /v1/events", () =>
      Effect.gen(function* () {
        // Read up to the first bytes (the `: connected` comment), sent at once.
        const got = yield* readSse("/v1/events", {}, () => true)
        assert.isTrue(got.value)
        unbuffered(got.headers, "/v1/events")
      }), { timeout: 10_000 })
  })
})
