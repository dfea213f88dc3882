/**
 * A method a known path does not take (OPTIONS without `server.cors`, PUT on
 * the chat route, DELETE on the models list) is answered 405 with `Allow`
 * listing the methods the path takes, in the OpenAI error shape, on both
 * servers; an unknown path stays a 404. With `server.cors`, OPTIONS is a
 * method of every path: a plain OPTIONS (no preflight) is answered 204 with
 * `Allow`, and a 405's `Allow` lists OPTIONS too.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { type Init, type Reply, requestAt } from "./support/Client.js"
import { baseUrl, echoGateway, serverLayer } from "./support/Doubles.js"
import { serveWith } from "./support/Served.js"

const auth = { authorization: "Bearer sk-master" }

const notAllowed = (reply: Reply, method: string, path: string, allow: string) => {
  assert.strictEqual(reply.status, 405, `${method} ${path}: ${reply.text}`)
  assert.strictEqual(reply.headers.get("allow"), allow)
  assert.deepStrictEqual(reply.json, {
    error: {
      message: `method ${method} is not allowed on ${path}; it takes ${allow}`,
      type: "invalid_request_error",
      code: "method_not_allowed",
      param: null
    }
  })
  assert.isNotNull(reply.headers.get("x-request-id"))
}

const answers405 = (url: string) => Effect.gen(function* () {
  const request = (path: string, init: Init = {}) => requestAt(url, path, init)
  notAllowed(yield* request("/v1/chat/completions", { method: "OPTIONS", headers: auth }), "OPTIONS", "/v1/chat/completions", "POST")
  notAllowed(yield* request("/v1/chat/completions", { method: "PUT", body: "{}", headers: auth }), "PUT", "/v1/chat/completions", "POST")
  notAllowed(yield* request("/v1/models", { method: "DELETE", headers: auth }), "DELETE", "/v1/models", "GET, HEAD")
  // A path with a parameter, and one with two methods.
  notAllowed(yield* request("/admin/models/gpt-test", { method: "DELETE", headers: auth }), "DELETE", "/admin/models/gpt-test", "PATCH")
  notAllowed(yield* request("/admin/models", { method: "PUT", body: "{}", headers: auth }), "PUT", "/admin/models", "GET, HEAD, POST")
  // Without credentials too: the answer names the path's methods, as the 404 names a missing path.
  notAllowed(yield* request("/admin/select", { method: "GET" }), "GET", "/admin/select", "POST")

  const missing = yield* request("/v1/nothing", { method: "OPTIONS" })
  assert.strictEqual(missing.status, 404)
  assert.strictEqual(missing.json.error.code, "not_found")
  assert.isNull(missing.headers.get("allow"))
  // The methods a path takes are still served.
  assert.strictEqual((yield* request("/v1/models", { headers: auth })).status, 200)
})

// With CORS a preflight from an allowed origin is answered before the router (see Cors.test.ts); these are not preflights.
const withCors = (url: string) => Effect.gen(function* () {
  const request = (path: string, init: Init = {}) => requestAt(url, path, init)
  for (const [path, allow] of [
    ["/v1/chat/completions", "OPTIONS, POST"],
    ["/v1/models", "GET, HEAD, OPTIONS"],
    ["/admin/models/gpt-test", "OPTIONS, PATCH"],
    ["/admin/models", "GET, HEAD, OPTIONS, POST"]
  ] as const) {
    const options = yield* request(path, { method: "OPTIONS" })
    assert.strictEqual(options.status, 204, `OPTIONS ${path}: ${options.text}`)
    assert.strictEqual(options.headers.get("allow"), allow, path)
    assert.strictEqual(options.text, "")
    assert.isNotNull(options.headers.get("x-request-id"))
  }
  notAllowed(yield* request("/v1/chat/completions", { method: "PUT", body: "{}", headers: auth }), "PUT", "/v1/chat/completions", "OPTIONS, POST")
  notAllowed(yield* request("/v1/models", { method: "DELETE", headers: auth }), "DELETE", "/v1/models", "GET, HEAD, OPTIONS")
  notAllowed(yield* request("/admin/select", { method: "GET" }), "GET", "/admin/select", "OPTIONS, POST")
  const missing = yield* request("/v1/nothing", { method: "OPTIONS" })
  assert.strictEqual(missing.status, 404)
  assert.isNull(missing.headers.get("allow"))
})

const cors = ["https://app.example.com"]

describe("405 Method Not Allowed", () => {
  it.live("modelgate serve with server.cors answers a plain OPTIONS 204 with Allow, and lists OPTIONS in a 405's Allow", () =>
    Effect.gen(function* () {
      const server = yield* serveWith(echoGateway, { masterKey: "sk-master", cors })
      yield* withCors(`http://127.0.0.1:${server.port}`)
      yield* Scope.close(server.scope, Exit.void)
    }))

  it.layer(serverLayer(echoGateway, { masterKey: "sk-master", cors }))((it) => {
    it.effect("HttpApp.layer with server.cors does the same", () => Effect.flatMap(baseUrl, withCors))
  })

  it.live("modelgate serve answers a method a known path does not take with 405 and Allow", () =>
    Effect.gen(function* () {
      const server = yield* serveWith(echoGateway, { masterKey: "sk-master" })
      yield* answers405(`http://127.0.0.1:${server.port}`)
      yield* Scope.close(server.scope, Exit.void)
    }))

  it.layer(serverLayer(echoGateway, { masterKey: "sk-master" }))((it) => {
    it.effect("HttpApp.layer does the same", () => Effect.flatMap(baseUrl, answers405))
  })
})
