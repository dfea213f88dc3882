/**
 * `DELETE /admin/cache[?model=ID]` purges the response cache (master key
 * only): the next identical request of a purged model goes to its provider
 * again, another model's cached answer is still a hit, and the answer counts
 * what went from memory and from the database.
 */
import { HttpServer } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import * as GatewayLive from "@modelgate/node/GatewayLive"
import * as FakeStackConfig from "@modelgate/testkit/FakeStackConfig"
import { Context, Effect, Layer } from "effect"
import * as HttpApp from "../src/HttpApp.js"
import { twoModels } from "./support/Registry.js"

const master = "mg-master-cache-purge-test"

const serveOverFakes = Effect.gen(function* () {
  const roomy = { rpm: 500, tpm: 2_000_000 }
  const { anthropic, configProvider, dir, openai } = yield* FakeStackConfig.make({
    prefix: "modelgate-cache-purge-",
    gateway: { cache: { enabled: true, ttlMs: 3_600_000 }, failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0 } },
    models: twoModels("cache purge test", { openai: roomy, anthropic: roomy }),
    env: { MODELGATE_MASTER_KEY: master }
  })
  const live = GatewayLive.layerWith({ configDirectory: dir, watch: false }).pipe(Layer.provide(Layer.setConfigProvider(configProvider)))
  const context = yield* Layer.build(HttpApp.serve({ port: 0, host: "127.0.0.1" }).pipe(Layer.provide(live)))
  const address = Context.get(context, HttpServer.HttpServer).address
  return { url: `http://127.0.0.1:${address._tag === "TcpAddress" ? address.port : 0}`, openai, anthropic }
})

const ask = (url: string, model: string) =>
  Effect.promise(() =>
    fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${master}` },
      body: JSON.stringify({ model, temperature: 0, messages: [{ role: "user", content: "the capital of France?" }] })
    }).then(async (r) => ({ status: r.status, cache: r.headers.get("x-modelgate-cache"), text: await r.text() }))
  )

/** `DELETE /admin/cache` with `key` as the Bearer token (`null`: none). */
const purge = (url: string, query = "", key: string | null = master) =>
  Effect.promise(() =>
    fetch(`${url}/admin/cache${query}`, { method: "DELETE", headers: key === null ? {} : { authorization: `Bearer ${key}` } })
      .then(async (r) => ({ status: r.status, json: await r.json() as any }))
  )

describe("DELETE /admin/cache", () => {
  it.scopedLive("purges one model's answers, then all, from memory and the database; the next request asks the provider", () =>
    Effect.gen(function* () {
      const { anthropic, openai, url } = yield* serveOverFakes
      for (const model of ["gpt-4o-mini", "claude-haiku"]) {
        assert.strictEqual((yield* ask(url, model)).cache, "miss")
        assert.strictEqual((yield* ask(url, model)).cache, "hit")
      }
      const openaiCalls = (yield* openai.requests).length
      const anthropicCalls = (yield* anthropic.requests).length

      assert.strictEqual((yield* purge(url, "?model=gpt-4o-mini", null)).status, 401)
      assert.strictEqual((yield* purge(url, "?model=gpt-4o-mini", "not-the-master-key")).status, 401)
      assert.strictEqual((yield* purge(url, "?model=")).status, 400)
      const one = yield* purge(url, "?model=gpt-4o-mini")
      assert.deepStrictEqual([one.status, one.json], [200, { object: "cache.purge", model: "gpt-4o-mini", purged: { memory: 1, store: 1 } }])

      const again = yield* ask(url, "gpt-4o-mini")
      assert.deepStrictEqual([again.status, again.cache], [200, "miss"], again.text)
      assert.strictEqual((yield* openai.requests).length, openaiCalls + 1)
      assert.strictEqual((yield* ask(url, "claude-haiku")).cache, "hit")
      assert.strictEqual((yield* anthropic.requests).length, anthropicCalls)

      const all = yield* purge(url)
      assert.deepStrictEqual([all.status, all.json], [200, { object: "cache.purge", model: null, purged: { memory: 2, store: 2 } }])
      assert.strictEqual((yield* ask(url, "claude-haiku")).cache, "miss")
      assert.strictEqual((yield* anthropic.requests).length, anthropicCalls + 1)
    }))
})
