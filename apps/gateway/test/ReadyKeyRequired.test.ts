/**
 * `GET /ready` (served without a key) says whether `/v1/*` needs one, so the
 * dashboard, opened without a key, asks nothing the gateway would refuse.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { call, serveOverFakes, sha256 } from "./support/VkStack.js"

describe("GET /ready keyRequired", () => {
  it.scopedLive("true with a master key or virtual keys, false on a gateway without auth", () =>
    Effect.gen(function* () {
      const withMaster = yield* serveOverFakes({})
      assert.strictEqual((yield* call(withMaster.url, "/ready")).json.keyRequired, true)
      const teamsOnly = yield* serveOverFakes({ auth: { virtualKeys: [{ name: "team", sha256: sha256("vk-team") }] } }, undefined, {})
      assert.strictEqual((yield* call(teamsOnly.url, "/ready")).json.keyRequired, true)
      const open = yield* serveOverFakes({}, undefined, {})
      const ready = yield* call(open.url, "/ready")
      assert.strictEqual(ready.json.keyRequired, false)
      assert.strictEqual((yield* call(open.url, "/v1/models")).status, 200)
    }), { timeout: 20_000 })
})
