/**
 * `POST /admin/select` with `x-modelgate-virtual-key: <name>` ranks as a chat
 * request made with that key: its `models` are the only candidates, its
 * `agentType` replaces the one the request states, and a named model it may
 * not use gets the chat route's 403, and a key over its `rpm` the chat
 * route's 429 (dry runs are not counted against it). An unknown name is a 400.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { bearer, call, chat, master, serveOverFakes, sha256 } from "./support/VkStack.js"

const miniKey = "mg-admin-select-mini-secret"
const keys = [{ name: "mini-team", sha256: sha256(miniKey), agentType: "mini", models: ["gpt-4o-mini"] }]
const asMini = { ...bearer(master), "x-modelgate-virtual-key": "mini-team" }

describe("POST /admin/select for a virtual key", () => {
  it.scopedLive("ranks the key's models only, under its agent type, as its chat requests are served", () =>
    Effect.gen(function* () {
      const { url } = yield* serveOverFakes({ auth: { virtualKeys: keys }, cache: { enabled: false } })
      const body = chat("auto", "hello there", { modelgate: { agentType: "someone-else" } })
      const dry = yield* call(url, "/admin/select", { body, headers: asMini })
      assert.strictEqual(dry.status, 200, dry.text)
      assert.deepStrictEqual(dry.json.ranked.map((r: any) => r.model), ["gpt-4o-mini"])
      assert.strictEqual(dry.json.requirements.agentType, "mini")
      const served = yield* call(url, "/v1/chat/completions", { body, headers: bearer(miniKey) })
      assert.strictEqual(served.status, 200, served.text)
      assert.strictEqual(served.headers.get("x-modelgate-model"), dry.json.ranked[0].model)
    }))

  it.scopedLive("a named model the key may not use: the chat route's 403 model_not_allowed", () =>
    Effect.gen(function* () {
      const { url } = yield* serveOverFakes({ auth: { virtualKeys: keys }, cache: { enabled: false } })
      const body = chat("claude-haiku")
      const dry = yield* call(url, "/admin/select", { body, headers: asMini })
      const served = yield* call(url, "/v1/chat/completions", { body, headers: bearer(miniKey) })
      assert.strictEqual(served.status, 403, served.text)
      assert.strictEqual(dry.status, 403, dry.text)
      assert.deepStrictEqual(dry.json.error, served.json.error)
    }))

  it.scopedLive("an unknown key name is a 400 naming the header", () =>
    Effect.gen(function* () {
      const { url } = yield* serveOverFakes({ auth: { virtualKeys: keys }, cache: { enabled: false } })
      const dry = yield* call(url, "/admin/select", { body: chat("auto"), headers: { ...bearer(master), "x-modelgate-virtual-key": "nobody" } })
      assert.strictEqual(dry.status, 400, dry.text)
      assert.strictEqual(dry.json.error.param, "x-modelgate-virtual-key")
    }))

  it.scopedLive("a key over its rpm: the chat route's 429, and dry runs never count against it", () =>
    Effect.gen(function* () {
      const limited = [{ ...keys[0]!, rpm: 1 }]
      const { url } = yield* serveOverFakes({ auth: { virtualKeys: limited }, cache: { enabled: false } })
      for (let i = 0; i < 3; i++) {
        const dry = yield* call(url, "/admin/select", { body: chat("auto"), headers: asMini })
        assert.strictEqual(dry.status, 200, dry.text)
      }
      const first = yield* call(url, "/v1/chat/completions", { body: chat("auto"), headers: bearer(miniKey) })
      assert.strictEqual(first.status, 200, first.text)
      const dry = yield* call(url, "/admin/select", { body: chat("auto"), headers: asMini })
      const second = yield* call(url, "/v1/chat/completions", { body: chat("auto"), headers: bearer(miniKey) })
      assert.strictEqual(second.status, 429, second.text)
      assert.strictEqual(dry.status, 429, dry.text)
      assert.strictEqual(dry.json.error.code, second.json.error.code)
    }))
})
