/**
 * `POST /admin/select` shows each ranked model's rate limits so that they
 * agree with the registry (`/admin/models`, `modelgate models`: one key's
 * `rpm` / `tpm`) and say what the model serves: its provider's usable keys
 * and their sum, against which its availability's headroom is measured.
 */
import { HttpServer } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import * as GatewayLive from "@modelgate/node/GatewayLive"
import * as FakeStackConfig from "@modelgate/testkit/FakeStackConfig"
import { Context, Effect, Layer } from "effect"
import * as HttpApp from "../src/HttpApp.js"
import { twoModels } from "./support/Registry.js"

const master = "mg-master-admin-select-limits"

/** The gateway over the fakes, with three OpenAI keys and one Anthropic key. */
const serveOverFakes = Effect.gen(function* () {
  const { configProvider, dir } = yield* FakeStackConfig.make({
    prefix: "modelgate-admin-select-limits-",
    gateway: { cache: { enabled: false } },
    models: twoModels("admin select limits", { openai: { rpm: 500, tpm: 200_000 }, anthropic: { rpm: 50, tpm: 40_000 } }),
    openAiApiKeys: ["sk-fake-one", "sk-fake-two", "sk-fake-three"],
    env: { MODELGATE_MASTER_KEY: master }
  })
  const live = GatewayLive.layerWith({ configDirectory: dir, watch: false }).pipe(Layer.provide(Layer.setConfigProvider(configProvider)))
  const context = yield* Layer.build(HttpApp.serve({ port: 0, host: "127.0.0.1" }).pipe(Layer.provide(live)))
  const address = Context.get(context, HttpServer.HttpServer).address
  return `http://127.0.0.1:${address._tag === "TcpAddress" ? address.port : 0}`
})

const call = (url: string, body?: unknown) =>
  Effect.promise(async () => {
    const response = await fetch(url, {
      method: body === undefined ? "GET" : "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${master}` },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    return { status: response.status, json: await response.json() as any }
  })

describe("POST /admin/select rate limits", () => {
  it.scopedLive("lists one key's rpm and tpm, as the registry does, with the usable keys and their sum", () =>
    Effect.gen(function* () {
      const url = yield* serveOverFakes
      const dry = yield* call(`${url}/admin/select`, { model: "auto", messages: [{ role: "user", content: "hello there" }] })
      assert.strictEqual(dry.status, 200, JSON.stringify(dry.json))
      const limits = Object.fromEntries(dry.json.ranked.map((r: any) => [r.model, r.rateLimits]))
      assert.deepStrictEqual(limits["gpt-4o-mini"], { rpm: 500, tpm: 200_000, keys: 3, totalRpm: 1_500, totalTpm: 600_000 })
      assert.deepStrictEqual(limits["claude-haiku"], { rpm: 50, tpm: 40_000, keys: 1, totalRpm: 50, totalTpm: 40_000 })
      const registry = yield* call(`${url}/admin/models`)
      const listed = (registry.json.data ?? registry.json.models ?? registry.json).find((m: any) => m.id === "gpt-4o-mini")
      assert.strictEqual(listed?.rateLimits?.rpm, limits["gpt-4o-mini"].rpm, JSON.stringify(listed))
    }))
})
