/**
 * `POST /admin/select` is the dry run of "which model would serve this, and
 * why" (README). For a request naming a model that has fallbacks, the gateway
 * tries the named model first (then its fallbacks in order), whatever their
 * scores: the dry run's first rank must be that model too, not a fallback
 * that happens to score higher.
 */
import { HttpServer } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import * as GatewayLive from "@modelgate/node/GatewayLive"
import * as FakeStackConfig from "@modelgate/testkit/FakeStackConfig"
import { Context, Effect, Layer } from "effect"
import * as HttpApp from "../src/HttpApp.js"
import { twoModels } from "./support/Registry.js"

const master = "mg-master-admin-select-test"

const serveOverFakes = Effect.gen(function* () {
  const registry = twoModels("admin select test", { openai: { rpm: 500, tpm: 2_000_000 }, anthropic: { rpm: 500, tpm: 2_000_000 } })
  // The named model scores below its fallback: lower quality, dearer.
  const models = {
    ...registry,
    models: [
      { ...registry.models[0]!, qualityScore: 0.2, pricing: { inputPerMillion: 5, outputPerMillion: 20 } },
      { ...registry.models[1]!, qualityScore: 0.95, pricing: { inputPerMillion: 0.1, outputPerMillion: 0.2 } }
    ]
  }
  const { configProvider, dir } = yield* FakeStackConfig.make({
    prefix: "modelgate-admin-select-",
    gateway: { cache: { enabled: false }, failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0 } },
    models,
    env: { MODELGATE_MASTER_KEY: master }
  })
  const live = GatewayLive.layerWith({ configDirectory: dir, watch: false }).pipe(Layer.provide(Layer.setConfigProvider(configProvider)))
  const context = yield* Layer.build(HttpApp.serve({ port: 0, host: "127.0.0.1" }).pipe(Layer.provide(live)))
  const address = Context.get(context, HttpServer.HttpServer).address
  return `http://127.0.0.1:${address._tag === "TcpAddress" ? address.port : 0}`
})

const post = (url: string, body: unknown) =>
  Effect.promise(async () => {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${master}` },
      body: JSON.stringify(body)
    })
    return { status: response.status, headers: response.headers, json: await response.json() as any }
  })

describe("POST /admin/select for a named model", () => {
  it.scopedLive("ranks first the model the gateway then serves the request with", () =>
    Effect.gen(function* () {
      const url = yield* serveOverFakes
      const body = { model: "gpt-4o-mini", messages: [{ role: "user", content: "hello there" }] }
      const dry = yield* post(`${url}/admin/select`, body)
      assert.strictEqual(dry.status, 200, JSON.stringify(dry.json))
      const served = yield* post(`${url}/v1/chat/completions`, body)
      assert.strictEqual(served.status, 200, JSON.stringify(served.json))
      assert.strictEqual(served.headers.get("x-modelgate-model"), "gpt-4o-mini")
      assert.strictEqual(dry.json.ranked[0]?.model, served.headers.get("x-modelgate-model"), JSON.stringify(dry.json.ranked.map((r: any) => [r.model, r.score])))
    }))
})
