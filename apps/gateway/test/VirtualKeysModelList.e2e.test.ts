/**
 * `GET /v1/models` with a virtual key limited to some models lists those
 * (and `auto`, which picks among them) only: a UI filling its model picker
 * from the list would otherwise offer models that answer 403. A model the
 * key may not use is, to `GET /v1/models/{model}`, a model it cannot find
 * (404, as OpenAI answers for a model an organisation has no access to).
 * The master key and unrestricted keys see every model.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { bearer, call, master, serveOverFakes, sha256 } from "./support/VkStack.js"

const onlyMini = "mg-list-only-mini-secret"
const everyModel = "mg-list-every-model-secret"
const keys = [
  { name: "mini-team", sha256: sha256(onlyMini), agentType: "mini", models: ["gpt-4o-mini"] },
  { name: "all-team", sha256: sha256(everyModel), agentType: "all" }
]

describe("GET /v1/models with a restricted virtual key", () => {
  it.scopedLive("lists the key's models and auto only; retrieving another is a 404", () =>
    Effect.gen(function* () {
      const { url } = yield* serveOverFakes({ auth: { virtualKeys: keys } })
      const ids = (key: string) => Effect.map(call(url, "/v1/models", { headers: bearer(key) }), (r) => r.json.data.map((m: { id: string }) => m.id))
      assert.deepStrictEqual(yield* ids(onlyMini), ["auto", "gpt-4o-mini"])
      assert.deepStrictEqual(yield* ids(everyModel), ["auto", "gpt-4o-mini", "claude-haiku"])
      assert.deepStrictEqual(yield* ids(master), ["auto", "gpt-4o-mini", "claude-haiku"])
      const other = yield* call(url, "/v1/models/claude-haiku", { headers: bearer(onlyMini) })
      assert.strictEqual(other.status, 404, other.text)
      assert.strictEqual(other.json.error.code, "model_not_found")
      const byProvider = yield* call(url, "/v1/models/anthropic%2Fclaude-haiku-4-5", { headers: bearer(onlyMini) })
      assert.strictEqual(byProvider.status, 404, byProvider.text)
      assert.strictEqual((yield* call(url, "/v1/models/gpt-4o-mini", { headers: bearer(onlyMini) })).status, 200)
      assert.strictEqual((yield* call(url, "/v1/models/claude-haiku", { headers: bearer(master) })).status, 200)
    }), { timeout: 30_000 })
})
