/**
 * `POST /admin/reload` reads both files again; each is applied on its own, as
 * the file watcher applies them. When one is refused, the answer (a 400
 * naming the file and field) says which of them was reloaded and is in force,
 * and the other's edit is not lost for the refusal of the first.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as path from "node:path"
import { bearer, call, editJson, master, serveOverFakes } from "./support/VkStack.js"

describe("POST /admin/reload with one file refused", () => {
  it.scopedLive("says the other file was reloaded, and applies it", () =>
    Effect.gen(function* () {
      const { dir, url } = yield* serveOverFakes({ cache: { enabled: false } })
      const reload = call(url, "/admin/reload", { method: "POST", headers: bearer(master) })
      const budgets = Effect.map(call(url, "/admin/budgets", { headers: bearer(master) }), (r) => r.text)

      // gateway.json edited and valid, models.json broken: the budget is in force, and the answer says so.
      yield* editJson(path.join(dir, "gateway.json"), (g) => {
        g.budgets = { global: { daily: 40 } }
      })
      yield* editJson(path.join(dir, "models.json"), (m) => {
        m.models[0].contextWindow = -1
      })
      const first = yield* reload
      assert.strictEqual(first.status, 400, first.text)
      assert.include(first.json.error.message, "models.json")
      assert.include(first.json.error.message, "gateway.json was reloaded and is in force")
      assert.include(yield* budgets, "40")

      // models.json mended and edited, gateway.json broken: the models are reloaded all the same.
      yield* editJson(path.join(dir, "models.json"), (m) => {
        m.models[0].contextWindow = 100_000
      })
      yield* editJson(path.join(dir, "gateway.json"), (g) => {
        g.budgets = { global: { daily: "forty" } }
      })
      const second = yield* reload
      assert.strictEqual(second.status, 400, second.text)
      assert.include(second.json.error.message, "gateway.json")
      assert.include(second.json.error.message, "models.json was reloaded and is in force")
      const models = yield* call(url, "/admin/models", { headers: bearer(master) })
      assert.include(models.text, "100000")
      assert.include(yield* budgets, "40")
    }), { timeout: 15_000 })
})
