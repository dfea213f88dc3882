/**
 * `GET /metrics` across `POST /admin/reload`: a model the reload removes, or
 * one disabled, is served by no provider, so its `modelgate_model_availability`
 * gauge goes away (an alert on it resolves) while its counters stay as they
 * were; added back, its gauge returns and its counters go on from where they
 * were (never back to 0). Before, the gauge of a removed model stayed at its
 * last value until the process restarted.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { bearer, call, chat, master, serveOverFakes } from "./support/VkStack.js"

const gauge = (text: string, model: string) => text.split("\n").filter((l) => l.startsWith(`modelgate_model_availability{model="${model}"`))
const successes = (text: string, model: string) =>
  text.split("\n").filter((l) => l.startsWith(`modelgate_requests_total{model="${model}",`) && l.includes('outcome="success"'))

describe("/metrics and a model removed by a reload", () => {
  it.scopedLive("drops the removed model's availability gauge, keeps its counters, and brings the gauge back when re-added", () =>
    Effect.gen(function* () {
      const { dir, url } = yield* serveOverFakes({ cache: { enabled: false }, healthCheck: { enabled: false } })
      const scrape = Effect.map(call(url, "/metrics"), (reply) => {
        assert.strictEqual(reply.status, 200)
        assert.strictEqual(reply.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8")
        return reply.text
      })
      const reload = Effect.map(call(url, "/admin/reload", { method: "POST", headers: bearer(master) }), (reply) => {
        assert.strictEqual(reply.status, 200, reply.text)
      })
      const answered = yield* call(url, "/v1/chat/completions", { body: chat("claude-haiku"), headers: bearer(master) })
      assert.strictEqual(answered.status, 200, answered.text)
      const before = yield* scrape
      assert.deepStrictEqual(gauge(before, "claude-haiku"), ['modelgate_model_availability{model="claude-haiku",provider="anthropic"} 1'])
      assert.deepStrictEqual(successes(before, "claude-haiku"), ['modelgate_requests_total{model="claude-haiku",provider="anthropic",outcome="success"} 1'])

      const file = path.join(dir, "models.json")
      const original = fs.readFileSync(file, "utf8")
      const json = JSON.parse(original)
      json.models = json.models.filter((m: { id: string }) => m.id !== "claude-haiku")
      for (const m of json.models) delete m.fallbacks
      fs.writeFileSync(file, JSON.stringify(json))
      yield* reload
      const removed = yield* scrape
      assert.deepStrictEqual(gauge(removed, "claude-haiku"), [], removed)
      assert.deepStrictEqual(successes(removed, "claude-haiku"), successes(before, "claude-haiku"))
      assert.strictEqual(gauge(removed, "gpt-4o-mini").length, 0, "gpt-4o-mini served nothing yet")

      fs.writeFileSync(file, original)
      yield* reload
      const back = yield* scrape
      assert.deepStrictEqual(gauge(back, "claude-haiku"), gauge(before, "claude-haiku"))
      assert.deepStrictEqual(successes(back, "claude-haiku"), successes(before, "claude-haiku"))

      // Disabled (PATCH): served by no provider either.
      const patched = yield* call(url, "/admin/models/claude-haiku", { method: "PATCH", body: { enabled: false }, headers: bearer(master) })
      assert.strictEqual(patched.status, 200, patched.text)
      const disabled = yield* scrape
      assert.deepStrictEqual(gauge(disabled, "claude-haiku"), [], disabled)
      assert.deepStrictEqual(successes(disabled, "claude-haiku"), successes(before, "claude-haiku"))
    }), { timeout: 30_000 })
})
