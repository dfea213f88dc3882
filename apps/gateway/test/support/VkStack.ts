/**
 * The HTTP app on GatewayLive over the testkit fakes, with a master key and
 * virtual keys: for the virtual-key tests.
 */
import { HttpServer } from "@effect/platform"
import * as GatewayLive from "@modelgate/node/GatewayLive"
import * as FakeStackConfig from "@modelgate/testkit/FakeStackConfig"
import { Context, Effect, Layer } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as HttpApp from "../../src/HttpApp.js"
import { twoModels } from "./Registry.js"

export const sha256 = (key: string) => createHash("sha256").update(key).digest("hex")
export const master = "mk-test-master-secret"

/** The app over the fakes with `gateway` sections; `env` replaces the variables (default: the master key only; `{}`: no auth). */
export const serveOverFakes = (gateway: Record<string, unknown>, models?: unknown, env: Record<string, string> = { MODELGATE_MASTER_KEY: master }) =>
  Effect.gen(function* () {
    const stack = yield* FakeStackConfig.make({
      prefix: "modelgate-vk-",
      gateway: { failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0 }, ...gateway },
      models: models ?? twoModels("vk tests", { openai: { rpm: 5_000, tpm: 20_000_000 }, anthropic: { rpm: 5_000, tpm: 20_000_000 } }),
      env
    })
    const live = GatewayLive.layerWith({ configDirectory: stack.dir, watch: false }).pipe(Layer.provide(Layer.setConfigProvider(stack.configProvider)))
    const context = yield* Layer.build(HttpApp.serve({ port: 0, host: "127.0.0.1" }).pipe(Layer.provide(live)))
    const server = Context.get(context, HttpServer.HttpServer)
    const address = server.address
    const url = `http://127.0.0.1:${address._tag === "TcpAddress" ? address.port : 0}`
    // `server`: for the `support/Client.js` helpers (`readSse`), which find the address through it.
    return { ...stack, url, server }
  })

export interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly json: any
}

export const call = (url: string, path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
  Effect.promise(async (): Promise<Reply> => {
    const response = await fetch(`${url}${path}`, {
      method: init.method ?? (init.body === undefined ? "GET" : "POST"),
      headers: { "content-type": "application/json", ...init.headers },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) })
    })
    const text = await response.text()
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
    return { status: response.status, headers: response.headers, text, json }
  })

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` })

/** Read the JSON `file`, let `change` edit it, write it back (a config edit before a reload). */
export const editJson = (file: string, change: (json: any) => void) =>
  Effect.sync(() => {
    const json = JSON.parse(fs.readFileSync(file, "utf8"))
    change(json)
    fs.writeFileSync(file, JSON.stringify(json))
  })

export const chat = (model: string, content = "hello there", extra: Record<string, unknown> = {}) => ({
  model,
  messages: [{ role: "user", content }],
  max_tokens: 20,
  ...extra
})
