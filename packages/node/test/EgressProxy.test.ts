/**
 * Provider calls through the egress proxy of the environment (`HTTP_PROXY`,
 * `HTTPS_PROXY`, `NO_PROXY`): a forward proxy (node:http on loopback: an
 * absolute-form request for an http:// upstream; it also tunnels CONNECT, how
 * https:// providers are reached, not exercised here for want of a TLS fake)
 * in front of a fake provider. The call goes through the proxy, with the
 * proxy's credentials sent to it and never logged; NO_PROXY bypasses it; a
 * malformed proxy URL is a ConfigError naming the variable, not the value.
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import * as HttpClientLive from "@modelgate/node/HttpClientLive"
import * as LoopbackServer from "@modelgate/testkit/LoopbackServer"
import { ConfigProvider, Effect, Exit, Layer, Logger } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as net from "node:net"

/** A forward proxy on loopback: what it was asked (request lines and Proxy-Authorization), in order. */
const forwardProxy = Effect.acquireRelease(
  Effect.async<{ url: string; seen: Array<{ line: string; auth: string | undefined }>; server: http.Server }>((resume) => {
    const seen: Array<{ line: string; auth: string | undefined }> = []
    const server = http.createServer((req, res) => {
      seen.push({ line: `${req.method} ${req.url}`, auth: req.headers["proxy-authorization"] })
      // Every host is this test's provider on loopback (which the gateway itself never reaches through a proxy).
      const target = new URL(req.url ?? "")
      const upstream = http.request({ host: "127.0.0.1", port: target.port, path: `${target.pathname}${target.search}`, method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      })
      upstream.on("error", () => res.writeHead(502).end())
      req.pipe(upstream)
    })
    server.on("connect", (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      seen.push({ line: `${req.method} ${req.url}`, auth: req.headers["proxy-authorization"] })
      const [host, port] = (req.url ?? "").split(":")
      const upstream = net.connect(Number(port), host, () => {
        socket.write("HTTP/1.1 200 Connection Established\r\n\r\n")
        upstream.write(head)
        upstream.pipe(socket)
        socket.pipe(upstream)
      })
      upstream.on("error", () => socket.destroy())
      socket.on("error", () => upstream.destroy())
    })
    server.listen(0, "127.0.0.1", () =>
      resume(Effect.succeed({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server })))
  }),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
)

const provider = LoopbackServer.make((_, res) => {
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ok: true }))
})

/** HttpClientLive with `env` as the environment, its log lines kept in `logs`. */
const clientWith = (env: Record<string, string>, logs: Array<string> = []) =>
  HttpClientLive.layer.pipe(
    Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))),
    Layer.provide(Logger.replace(Logger.defaultLogger, Logger.make(({ message }) => logs.push(String(message)))))
  )

/** The provider's URL under a name only the proxy resolves (to its loopback address). */
const remote = (url: string) => `http://provider.invalid:${new URL(url).port}`

const call = (url: string) =>
  Effect.flatMap(HttpClient.HttpClient, (client) =>
    Effect.flatMap(
      client.execute(HttpClientRequest.post(`${url}/v1/chat/completions`).pipe(HttpClientRequest.bodyText("{}"))),
      (response) => response.text
    ))

describe("HttpClientLive through the egress proxy", () => {
  it.scoped("an http:// provider is called through HTTP_PROXY (absolute form), credentials sent to the proxy, not logged", () =>
    Effect.gen(function*() {
      const proxy = yield* forwardProxy
      const upstream = yield* provider
      const logs: Array<string> = []
      const withCredentials = proxy.url.replace("http://", "http://alice:s3cret@")
      const body = yield* Effect.provide(call(remote(upstream.url)), clientWith({ HTTP_PROXY: withCredentials }, logs))
      assert.strictEqual(body, JSON.stringify({ ok: true }))
      assert.deepStrictEqual(proxy.seen.map((s) => s.line), [`POST ${remote(upstream.url)}/v1/chat/completions`])
      assert.strictEqual(proxy.seen[0]!.auth, `Basic ${Buffer.from("alice:s3cret").toString("base64")}`)
      assert.strictEqual(upstream.requests.length, 1)
      const line = logs.filter((l) => l.includes("proxy"))
      assert.strictEqual(line.length, 1)
      assert.include(line[0]!, proxy.url.replace("http://", ""))
      assert.notInclude(logs.join("\n"), "s3cret")
      assert.notInclude(logs.join("\n"), "alice")
    }))

  it.scoped("the lower-case http_proxy wins over HTTP_PROXY", () =>
    Effect.gen(function*() {
      const proxy = yield* forwardProxy
      const upstream = yield* provider
      const body = yield* Effect.provide(call(remote(upstream.url)), clientWith({ http_proxy: proxy.url, HTTP_PROXY: "http://127.0.0.1:9" }))
      assert.strictEqual(body, JSON.stringify({ ok: true }))
      assert.strictEqual(proxy.seen.length, 1)
    }))

  for (const noProxy of ["provider.invalid", "localhost,provider.invalid", "invalid", "*"]) {
    it.scoped(`NO_PROXY=${noProxy} reaches the provider directly`, () =>
      Effect.gen(function*() {
        const proxy = yield* forwardProxy
        const upstream = yield* provider
        // Directly, the name resolves nowhere: the call fails, and the proxy was never asked.
        const failed = yield* Effect.provide(call(remote(upstream.url)), clientWith({ HTTP_PROXY: proxy.url, NO_PROXY: noProxy })).pipe(Effect.flip)
        assert.strictEqual(failed._tag, "RequestError")
        assert.strictEqual(proxy.seen.length, 0)
      }))
  }

  it.scoped("a provider on this machine (127.0.0.1, localhost) is reached directly without NO_PROXY", () =>
    Effect.gen(function*() {
      const proxy = yield* forwardProxy
      const upstream = yield* provider
      const port = new URL(upstream.url).port
      const env = { HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url }
      assert.strictEqual(yield* Effect.provide(call(upstream.url), clientWith(env)), JSON.stringify({ ok: true }))
      // localhost may resolve to ::1 where nothing listens; either way the proxy was not asked.
      const local = yield* Effect.provide(call(`http://localhost:${port}`), clientWith(env)).pipe(Effect.catchAll(() => Effect.succeed("unreachable")))
      assert.include([JSON.stringify({ ok: true }), "unreachable"], local)
      assert.strictEqual(proxy.seen.length, 0)
      assert.strictEqual(upstream.requests.length >= 1, true)
    }))

  it.scoped("without any proxy variable, no proxy line is logged and the provider is called directly", () =>
    Effect.gen(function*() {
      const upstream = yield* provider
      const logs: Array<string> = []
      const body = yield* Effect.provide(call(upstream.url), clientWith({}, logs))
      assert.strictEqual(body, JSON.stringify({ ok: true }))
      assert.deepStrictEqual(logs.filter((l) => l.includes("proxy")), [])
    }))

  it.scoped("a proxy that refuses the connection fails the call without its credentials in the error", () =>
    Effect.gen(function*() {
      const closed = yield* forwardProxy.pipe(Effect.map((p) => p.url), Effect.scoped)
      const upstream = yield* provider
      const error = yield* Effect.flip(
        Effect.provide(call(remote(upstream.url)), clientWith({ HTTP_PROXY: closed.replace("http://", "http://alice:s3cret@") }))
      )
      assert.strictEqual(error._tag, "RequestError")
      assert.notInclude(`${String(error)} ${String((error as { cause?: unknown }).cause)}`, "s3cret")
      assert.strictEqual(upstream.requests.length, 0)
    }))

  it.effect("a malformed proxy URL is a ConfigError naming the variable, not its value", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Effect.scoped(Layer.build(clientWith({ HTTPS_PROXY: "user:s3cret@proxy" }))))
      assert.isTrue(Exit.isFailure(exit))
      const text = String(Exit.isFailure(exit) ? exit.cause : "")
      assert.include(text, "HTTPS_PROXY")
      assert.notInclude(text, "s3cret")
    }))
})
