/**
 * Bearer parsing (scheme case, extra spaces, missing scheme), master
 * vs virtual keys on /v1/* and /admin/*, and the OpenAI error shape with
 * x-request-id on every refusal, over a real socket.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import { createHash } from "node:crypto"
import { chatBody, post, request } from "./support/Client.js"
import { echoGateway, serverLayer } from "./support/Doubles.js"

const sha256 = (key: string) => createHash("sha256").update(key).digest("hex")
const master = "mk-test-master"
const team = "mg-test-team"
const keys = [{ name: "team", sha256: sha256(team), agentType: "team", models: ["gpt-test"] as const }]

const shapeOk = (reply: { status: number; json: any; headers: Headers; text: string }, status: number, code?: string) => {
  assert.strictEqual(reply.status, status, reply.text)
  assert.hasAllKeys(reply.json.error, ["message", "type", "code", "param"])
  if (code !== undefined) assert.strictEqual(reply.json.error.code, code)
  assert.match(reply.headers.get("x-request-id") ?? "", /.+/)
  assert.notInclude(reply.text, master)
  assert.notInclude(reply.text, team)
}

describe("auth", () => {
  layer(serverLayer(echoGateway, { masterKey: master, virtualKeys: keys }), { excludeTestServices: true })((it) => {
    it.effect("the scheme is case-insensitive and spaces around the token are ignored", () =>
      Effect.gen(function* () {
        for (const key of [master, team]) {
          for (const header of [`Bearer ${key}`, `bearer ${key}`, `BEARER ${key}`, `Bearer   ${key}  `, `Bearer\t${key}`]) {
            for (const path of ["/v1/chat/completions", "/v1/chat/completions?via=router"]) {
              const r = yield* post(path, chatBody({ model: "gpt-test" }), { authorization: header })
              assert.strictEqual(r.status, 200, `${path} ${JSON.stringify(header)}: ${r.text}`)
            }
            assert.strictEqual((yield* request("/v1/models", { headers: { authorization: header } })).status, 200)
          }
        }
      }))

    it.effect("a missing scheme, another scheme, an empty token or a prefix of a key are 401 in the OpenAI shape", () =>
      Effect.gen(function* () {
        for (const header of [master, team, `Basic ${master}`, "Bearer", "Bearer ", `Bearer ${master.slice(0, -1)}`, `Bearer ${team}x`, `Token ${team}`]) {
          for (const path of ["/v1/chat/completions", "/v1/chat/completions?via=router"]) {
            shapeOk(yield* post(path, chatBody(), { authorization: header }), 401, "invalid_api_key")
          }
          shapeOk(yield* request("/v1/models", { headers: { authorization: header } }), 401, "invalid_api_key")
          shapeOk(yield* request("/admin/keys", { headers: { authorization: header } }), 401, "invalid_api_key")
        }
        shapeOk(yield* request("/v1/metrics"), 401, "invalid_api_key")
        shapeOk(yield* request("/v1/events"), 401, "invalid_api_key")
      }))

    it.effect("a virtual key never opens /admin/*; a model it may not use is 403 model_not_allowed", () =>
      Effect.gen(function* () {
        for (const path of ["/admin/keys", "/admin/models", "/admin/costs", "/admin/budgets", "/admin/health"]) {
          shapeOk(yield* request(path, { headers: { authorization: `Bearer ${team}` } }), 403, "virtual_key_not_admin")
        }
        shapeOk(yield* post("/admin/reload", {}, { authorization: `Bearer ${team}` }), 403, "virtual_key_not_admin")
        shapeOk(yield* post("/admin/select", chatBody(), { authorization: `bearer  ${team}` }), 403, "virtual_key_not_admin")
        assert.strictEqual((yield* request("/admin/keys", { headers: { authorization: `bearer ${master}` } })).status, 200)
      }))
  })
})

describe("a master key read with surrounding whitespace", () => {
  // A secret file or `.env` line often ends with a newline: the key is what is around it.
  layer(serverLayer(echoGateway, { masterKey: `  ${master}\n` }), { excludeTestServices: true })((it) => {
    it.effect("is the key without it: sent as is it opens /v1/* and /admin/*", () =>
      Effect.gen(function* () {
        assert.strictEqual((yield* request("/v1/models", { headers: { authorization: `Bearer ${master}` } })).status, 200)
        assert.strictEqual((yield* request("/admin/keys", { headers: { authorization: `Bearer ${master}` } })).status, 200)
        shapeOk(yield* request("/v1/models"), 401, "invalid_api_key")
      }))
  })
})
