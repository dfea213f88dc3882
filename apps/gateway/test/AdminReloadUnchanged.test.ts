/**
 * `POST /admin/reload` when nothing changed: the answer says so
 * (`changed: false`) and `/v1/events` hears no `ConfigReloaded`; a reload
 * after an edit of `gateway.json` or of `models.json` says `changed: true`
 * and publishes it.
 */
import { HttpServer } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Schedule } from "effect"
import * as path from "node:path"
import { readSse } from "./support/Client.js"
import { bearer, call, chat, editJson, master, serveOverFakes } from "./support/VkStack.js"

describe("POST /admin/reload", () => {
  it.scopedLive("a reload that changes nothing says so and publishes no ConfigReloaded; an edit of either file does both", () =>
    Effect.gen(function* () {
      const { dir, server, url } = yield* serveOverFakes({ cache: { enabled: false } })
      const seen: Array<any> = []
      const reloads = () => seen.filter((e) => e._tag === "ConfigReloaded").length
      const selected = (model: string) => seen.some((e) => e._tag === "ModelSelected" && e.model === model)
      const reader = yield* Effect.fork(
        Effect.provideService(
          readSse("/v1/events", bearer(master), (data) => {
            seen.splice(0, seen.length, ...data)
            return data.filter((e) => e._tag === "ConfigReloaded").length >= 2 ? true : undefined
          }),
          HttpServer.HttpServer,
          server
        )
      )
      // The subscription starts when its request arrives: ask until the reader has heard an answer's selection.
      yield* Effect.repeat(call(url, "/v1/chat/completions", { body: chat("gpt-4o-mini"), headers: bearer(master) }), {
        schedule: Schedule.spaced("20 millis"),
        until: () => selected("gpt-4o-mini")
      })

      const same = yield* call(url, "/admin/reload", { method: "POST", headers: bearer(master) })
      assert.strictEqual(same.status, 200, same.text)
      assert.deepStrictEqual(same.json, { status: "reloaded", models: 2, changed: false })
      // Events come in order: once this answer's selection is heard, anything the reload published was too.
      assert.strictEqual((yield* call(url, "/v1/chat/completions", { body: chat("claude-haiku"), headers: bearer(master) })).status, 200)
      yield* Effect.repeat(Effect.sleep("10 millis"), { until: () => selected("claude-haiku") })
      assert.strictEqual(reloads(), 0, JSON.stringify(seen.map((e) => e._tag)))

      yield* editJson(path.join(dir, "gateway.json"), (g) => {
        g.budgets = { global: { daily: 40 } }
      })
      const edited = yield* call(url, "/admin/reload", { method: "POST", headers: bearer(master) })
      assert.deepStrictEqual(edited.json, { status: "reloaded", models: 2, changed: true })
      yield* editJson(path.join(dir, "models.json"), (m) => {
        m.models[0].pricing.inputPerMillion = 0.2
      })
      const priced = yield* call(url, "/admin/reload", { method: "POST", headers: bearer(master) })
      assert.deepStrictEqual(priced.json, { status: "reloaded", models: 2, changed: true })
      yield* Fiber.join(reader)
      assert.strictEqual(reloads(), 2)
    }), { timeout: 15_000 })
})
