/**
 * `POST /admin/reload` of a models.json that drops a model a virtual key
 * lists: one warning naming the key and the model, as at start (it said
 * nothing: only a change of gateway.json was followed).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Logger } from "effect"
import * as path from "node:path"
import { bearer, call, editJson, master, serveOverFakes, sha256 } from "./support/VkStack.js"

describe("virtual keys and a reload of models.json", () => {
  it.scopedLive("a model a key lists, removed by the reload, is warned of once", () =>
    Effect.gen(function* () {
      const warnings: Array<string> = []
      const logger = Logger.make(({ logLevel, message }) => {
        if (logLevel._tag === "Warning") warnings.push(String(message))
      })
      const { dir, url } = yield* serveOverFakes({
        auth: { virtualKeys: [{ name: "team", sha256: sha256("mg-team-key-value"), models: ["gpt-4o-mini", "claude-haiku"] }] },
        healthCheck: { enabled: false }
      }).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
      const unknown = () => warnings.filter((w) => w.includes("virtual keys list models"))
      assert.deepStrictEqual(unknown(), [])
      yield* editJson(path.join(dir, "models.json"), (json) => {
        json.models = json.models.filter((m: { id: string }) => m.id !== "claude-haiku")
        for (const m of json.models) delete m.fallbacks
      })
      const reloaded = yield* call(url, "/admin/reload", { method: "POST", headers: bearer(master) })
      assert.strictEqual(reloaded.status, 200, reloaded.text)
      for (let i = 0; i < 100 && unknown().length === 0; i++) yield* Effect.sleep("10 millis")
      // Once more: nothing new to say.
      yield* call(url, "/admin/reload", { method: "POST", headers: bearer(master) })
      yield* Effect.sleep("50 millis")
      assert.deepStrictEqual(unknown(), [
        "virtual keys list models the registry does not have, which they can never use: 'claude-haiku' (key 'team')"
      ])
    }))
})
