/**
 * Request bodies are read as sent, never decompressed: a body with a
 * `Content-Encoding` (a client that gzips its uploads) is refused with a 415
 * naming the header, on both servers, never parsed as garbled JSON with a
 * misleading "not valid UTF-8 / JSON" 400. `identity` is no encoding.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import * as Zlib from "node:zlib"
import { chatBody, request } from "./support/Client.js"
import { baseUrl, echoGateway, serverLayer } from "./support/Doubles.js"
import { serveWith } from "./support/Served.js"

const gzipped = Zlib.gzipSync(JSON.stringify(chatBody()))

const post = (url: string, encoding: string, body: Uint8Array) =>
  Effect.promise(() =>
    fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", "content-encoding": encoding, authorization: "Bearer sk-master" }, body })
      .then(async (r) => ({ status: r.status, json: await r.json() as any }))
  )

const refusesGzip = (url: string) =>
  Effect.gen(function* () {
    const reply = yield* post(url, "gzip", gzipped)
    assert.strictEqual(reply.status, 415)
    assert.strictEqual(reply.json.error.code, "unsupported_content_encoding")
    assert.include(reply.json.error.message, "Content-Encoding 'gzip'")
    const plain = yield* post(url, "identity", Buffer.from(JSON.stringify(chatBody())))
    assert.strictEqual(plain.status, 200, "identity is no encoding")
  })

describe("Content-Encoding on request bodies", () => {
  it.live("modelgate serve refuses a gzipped body with 415 naming the header", () =>
    Effect.gen(function* () {
      const server = yield* serveWith(echoGateway)
      yield* refusesGzip(`http://127.0.0.1:${server.port}`)
      yield* Scope.close(server.scope, Exit.void)
    }))

  it.layer(serverLayer(echoGateway, { masterKey: "sk-master" }))((it) => {
    it.effect("HttpApp.layer refuses a gzipped body with 415, on the chat route and an admin route", () =>
      Effect.gen(function* () {
        yield* refusesGzip(yield* baseUrl)
        const admin = yield* request("/admin/select", {
          body: Zlib.gzipSync(JSON.stringify({ messages: [{ role: "user", content: "hi" }] })),
          headers: { authorization: "Bearer sk-master", "content-encoding": "gzip" }
        })
        assert.strictEqual(admin.status, 415)
        assert.strictEqual(admin.json.error.code, "unsupported_content_encoding")
      }))
  })
})
