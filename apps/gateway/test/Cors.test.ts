/**
 * CORS, opt-in with `server.cors`: with an origin listed, a browser's
 * preflight is answered 204 before auth and every answer to that origin (JSON,
 * stream, error, other routes) carries `Access-Control-Allow-Origin` and
 * exposes the gateway's headers, on both servers; another origin, or no
 * `server.cors` (the default), gets no CORS header at all.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import * as Http from "node:http"
import { chatBody } from "./support/Client.js"
import { baseUrl, echoGateway, serverLayer } from "./support/Doubles.js"
import { serveWith } from "./support/Served.js"

const app = "https://app.example.com"
const auth = { authorization: "Bearer sk-master" }

interface Answer {
  readonly status: number
  readonly headers: Http.IncomingHttpHeaders
  readonly body: string
}

/** One request with Node's client (fetch would not let a test set `Origin` freely). */
const call = (url: string, method: string, path: string, headers: Record<string, string>, body?: string) =>
  Effect.async<Answer>((resume) => {
    const req = Http.request(`${url}${path}`, { method, headers, agent: false }, (res) => {
      let text = ""
      res.setEncoding("utf8")
      res.on("data", (c: string) => (text += c))
      res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, headers: res.headers, body: text })))
    })
    req.on("error", (e) => resume(Effect.die(e)))
    req.end(body)
  })

const preflight = (url: string, origin: string) =>
  call(url, "OPTIONS", "/v1/chat/completions", {
    origin,
    "access-control-request-method": "POST",
    "access-control-request-headers": "authorization, content-type"
  })

const chat = (url: string, headers: Record<string, string>, extra: Record<string, unknown> = {}) =>
  call(url, "POST", "/v1/chat/completions", { "content-type": "application/json", ...auth, ...headers }, JSON.stringify(chatBody(extra)))

const allowsApp = (url: string) =>
  Effect.gen(function* () {
    const pre = yield* preflight(url, app)
    assert.strictEqual(pre.status, 204, "answered before auth (a preflight carries no credentials)")
    assert.strictEqual(pre.headers["access-control-allow-origin"], app)
    assert.include(pre.headers["access-control-allow-methods"], "POST")
    assert.include(pre.headers["access-control-allow-headers"], "authorization")

    for (const stream of [false, true]) {
      const answer = yield* chat(url, { origin: app }, { stream })
      assert.strictEqual(answer.status, 200)
      assert.strictEqual(answer.headers["access-control-allow-origin"], app, `stream: ${stream}`)
      assert.include(answer.headers["access-control-expose-headers"], "x-modelgate-model")
      assert.include(answer.headers["access-control-expose-headers"], "x-request-id")
      // The retry hints a browser's SDK waits on (Retry-After, retry-after-ms, x-should-retry).
      assert.include(answer.headers["access-control-expose-headers"], "retry-after-ms")
      assert.include(answer.headers["access-control-expose-headers"], "x-should-retry")
    }
    const denied = yield* chat(url, { origin: app, authorization: "Bearer wrong" })
    assert.strictEqual(denied.status, 401)
    assert.strictEqual(denied.headers["access-control-allow-origin"], app, "a browser can read the error too")
    const models = yield* call(url, "GET", "/v1/models", { origin: app, ...auth })
    assert.strictEqual(models.headers["access-control-allow-origin"], app)

    const other = yield* preflight(url, "https://evil.example.com")
    assert.isUndefined(other.headers["access-control-allow-origin"])
    const otherChat = yield* chat(url, { origin: "https://evil.example.com" })
    assert.isUndefined(otherChat.headers["access-control-allow-origin"])
  })

const noCors = (url: string) =>
  Effect.gen(function* () {
    const pre = yield* preflight(url, app)
    assert.notStrictEqual(pre.status, 204)
    assert.deepStrictEqual(Object.keys(pre.headers).filter((h) => h.startsWith("access-control-")), [])
    const answer = yield* chat(url, { origin: app })
    assert.strictEqual(answer.status, 200)
    assert.deepStrictEqual(Object.keys(answer.headers).filter((h) => h.startsWith("access-control-")), [])
  })

const onServe = (cors: ReadonlyArray<string> | undefined, check: (url: string) => Effect.Effect<void>) =>
  Effect.gen(function* () {
    const server = yield* serveWith(echoGateway, { masterKey: "sk-master", ...(cors === undefined ? {} : { cors }) })
    yield* check(`http://127.0.0.1:${server.port}`)
    yield* Scope.close(server.scope, Exit.void)
  })

describe("CORS", () => {
  it.live("modelgate serve with server.cors answers the listed origin's preflight and marks its answers", () => onServe([app], allowsApp))
  it.live("modelgate serve without server.cors sends no CORS header", () => onServe(undefined, noCors))

  it.layer(serverLayer(echoGateway, { masterKey: "sk-master", cors: [app] }))((it) => {
    it.effect("HttpApp.layer with server.cors does the same", () => Effect.flatMap(baseUrl, allowsApp))
  })
  it.layer(serverLayer(echoGateway, { masterKey: "sk-master" }))((it) => {
    it.effect("HttpApp.layer without server.cors sends no CORS header", () => Effect.flatMap(baseUrl, noCors))
  })
})
