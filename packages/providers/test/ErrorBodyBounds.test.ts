/**
 * Error answers that are not the provider's JSON (what a proxy or load
 * balancer sends in its place): their body is read bounded, and its excerpt
 * is cut in time whatever text it holds.
 */
import { Headers, HttpClientRequest } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import { Effect, Schema, Stream } from "effect"
import * as Http from "node:http"
import { decodeJson, excerpt, genericError, makeProviderHttp } from "../src/internal/index.js"

const info = { model: "toy-model", keyId: "toy#1", secrets: ["sk-secret-value-123"] }

/** The most a body the client leaves unread can be (the socket's buffers): far under `pageBytes`. */
const pageBytes = 32 * 1024 * 1024

/**
 * A server answering every request with a 502 HTML page of `pageBytes` bytes
 * (a proxy's page that goes on and on), written as fast as the client reads
 * it; `stats` tells how much went out and whether the client hung up first.
 */
const endlessPage = Effect.gen(function*() {
  const stats = { written: 0, finished: false, closedEarly: false }
  const chunk = Buffer.from(`<p>${"upstream connect error or disconnect/reset before headers. ".repeat(16)}</p>\n`)
  const server = Http.createServer((_req, res) => {
    res.writeHead(502, { "content-type": "text/html" })
    res.write("<html><head><title>502 Bad Gateway</title></head><body>\n")
    const pump = () => {
      while (stats.written < pageBytes) {
        stats.written += chunk.length
        if (!res.write(chunk)) return void res.once("drain", pump)
      }
      res.end(() => void (stats.finished = true))
    }
    res.on("close", () => void (stats.closedEarly = !stats.finished))
    pump()
  })
  yield* Effect.acquireRelease(
    Effect.async<void>((resume) => void server.listen(0, "127.0.0.1", () => resume(Effect.void))),
    () => Effect.sync(() => server.closeAllConnections()).pipe(Effect.zipRight(Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))))
  )
  const address = server.address()
  const url = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
  const http = yield* makeProviderHttp({
    provider: "toy",
    getConfig: Effect.succeed(ProviderConfig.make({ baseUrl: url, maxRetries: 0, timeoutMs: 60_000 })),
    requestId: () => undefined,
    rateLimit: () => undefined,
    classify: (ctx) => genericError(ctx, ctx.excerpt, undefined)
  })
  return { url, http, stats }
})

/** Waits (real time: the socket's) until the server saw the connection end; 10 s as a hang detector only. */
const awaitClosed = (stats: { readonly finished: boolean; readonly closedEarly: boolean }) =>
  Effect.promise(async () => {
    const giveUpAt = performance.now() + 10_000
    while (!stats.finished && !stats.closedEarly && performance.now() < giveUpAt) await new Promise((r) => setTimeout(r, 2))
  })

describe("error answers that are not the provider's JSON", () => {
  it.scoped("a 502 page that goes on for megabytes fails as ServerError once its start is read: the rest is not downloaded", () =>
    Effect.gen(function*() {
      const { http, stats, url } = yield* endlessPage
      const error = yield* Effect.flip(http.call(info, HttpClientRequest.get(`${url}/chat`), () => Effect.succeed("never")))
      assert.strictEqual(error._tag, "ServerError")
      assert.strictEqual(error.status, 502)
      assert.include(error.detail, "502 Bad Gateway")
      assert.isAtMost(error.detail.length, 301)
      yield* awaitClosed(stats)
      assert.isTrue(stats.closedEarly, `the client read the whole ${stats.written}-byte page`)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("the same page answering a stream request", () =>
    Effect.gen(function*() {
      const { http, stats, url } = yield* endlessPage
      const error = yield* Effect.flip(
        http.stream(info, HttpClientRequest.get(`${url}/stream`), (res) => Stream.runDrain(res.body))
      )
      assert.strictEqual(error._tag, "ServerError")
      assert.strictEqual(error.status, 502)
      yield* awaitClosed(stats)
      assert.isTrue(stats.closedEarly, `the client read the whole ${stats.written}-byte page`)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it("an excerpt of a body holding a long unbroken token (minified script, base64url, hex) is cut at once", () => {
    const token = "A1b2C3d4_-".repeat(6_000)
    const started = performance.now()
    const text = excerpt(`<html><script>var t="${token}";</script> key sk-ab12*****Qx7Z and sk-secret-value-123</html>`, info.secrets)
    const tookMs = performance.now() - started
    assert.isAtMost(text.length, 301)
    assert.isBelow(tookMs, 2_000, `excerpt took ${Math.round(tookMs)} ms`)
    const masked = excerpt(`Incorrect API key provided: sk-ab12*****Qx7Z; ${token.slice(0, 50)}`, info.secrets)
    assert.notInclude(masked, "Qx7Z")
  })
})

/** A CDN's 502 page as it arrives in place of the provider's JSON (its markup ahead of its words). */
const cdnPage = `<!DOCTYPE html>
<!--[if lt IE 7]> <html class="no-js ie6 oldie" lang="en-US"> <![endif]-->
<!--[if IE 7]>    <html class="no-js ie7 oldie" lang="en-US"> <![endif]-->
<!--[if IE 8]>    <html class="no-js ie8 oldie" lang="en-US"> <![endif]-->
<!--[if gt IE 8]><!--> <html class="no-js" lang="en-US"> <!--<![endif]-->
<head>
<meta http-equiv="X-UA-Compatible" content="IE=Edge" />
<meta name="robots" content="noindex, nofollow" />
<meta name="viewport" content="width=device-width,initial-scale=1" />
<link rel="stylesheet" id="cf_styles-css" href="/cdn-cgi/styles/main.css" />
<style>body{margin:0;padding:0} .cf-error-details{font-size:1.5em}</style>
<script>(function(){window._cf_translation = {};})();</script>
</head>
<body>
<div id="cf-wrapper"><div id="cf-error-details" class="cf-error-details-wrapper">
<h1><span class="inline-block">Bad gateway</span> <span class="code-label">Error code 502</span></h1>
<p>Visit <a href="https://www.cloudflare.com/5xx-error-landing">cloudflare.com</a> for more information.</p>
<span class="cf-footer-item">Cloudflare Ray ID: <strong>8f1a2b3c4d5e6f70</strong></span>
</div></div>
</body>
</html>`

describe("an HTML error page", () => {
  it.scoped("is quoted by its words, not its markup", () =>
    Effect.gen(function*() {
      const server = Http.createServer((_req, res) => void res.writeHead(502, { "content-type": "text/html; charset=UTF-8" }).end(cdnPage))
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => void server.listen(0, "127.0.0.1", () => resume(Effect.void))),
        () => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
      )
      const address = server.address()
      const url = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
      const http = yield* makeProviderHttp({
        provider: "toy",
        getConfig: Effect.succeed(ProviderConfig.make({ baseUrl: url, maxRetries: 0 })),
        requestId: () => undefined,
        rateLimit: () => undefined,
        classify: (ctx) => genericError(ctx, ctx.excerpt, undefined)
      })
      const error = yield* Effect.flip(http.call(info, HttpClientRequest.get(`${url}/chat`), () => Effect.succeed("never")))
      assert.strictEqual(error._tag, "ServerError")
      assert.include(error.detail, "Bad gateway Error code 502")
      assert.include(error.detail, "Cloudflare Ray ID: 8f1a2b3c4d5e6f70")
      assert.notMatch(error.detail, /<|_cf_translation|margin:0/)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})

/** A proxy's sign-in page answering with a 200 in place of the provider's JSON (its markup ahead of its words). */
const signInPage = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Web Gateway</title>
<link rel="stylesheet" href="/static/portal.css"><style>body{font-family:sans-serif;margin:0} .box{padding:2em}</style>
<script src="/static/portal.js"></script><script>window.portalConfig = {"session":"a1b2c3","theme":"corp"};</script>
</head><body><div class="box"><h1>Authentication required</h1><p>Sign in to the web gateway to reach api.openai.com.</p></div></body></html>`

describe("an HTML page answering 200 in place of the provider's JSON", () => {
  it.effect("fails as MalformedResponse quoting the page's words, not its markup", () =>
    Effect.gen(function*() {
      const meta = { status: 200, headers: Headers.fromInput({ "content-type": "text/html; charset=utf-8" }), requestId: undefined, rateLimit: undefined }
      const error = yield* Effect.flip(decodeJson(Schema.Struct({ id: Schema.String }), signInPage, { provider: "toy", info, meta }))
      assert.strictEqual(error._tag, "MalformedResponse")
      assert.include(error.detail, "Web Gateway Authentication required")
      assert.notMatch(error.detail, /<meta|portalConfig|font-family/)
    }))
})
