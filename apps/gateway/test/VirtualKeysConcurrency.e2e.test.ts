/**
 * A virtual key's rpm and its agent type's budget hold under 30
 * parallel requests, and its spending is attributed to its agent type in
 * `/admin/costs?by=agent`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { bearer, call, chat, master, serveOverFakes, sha256 } from "./support/VkStack.js"

const limitedKey = "mg-concurrency-limited-secret"
const spenderKey = "mg-concurrency-spender-secret"

describe("virtual keys under concurrency", () => {
  it.scopedLive("30 parallel requests: exactly rpm are admitted, on both chat routes", () =>
    Effect.gen(function* () {
      const { url } = yield* serveOverFakes({
        auth: { virtualKeys: [{ name: "limited", sha256: sha256(limitedKey), agentType: "limited", rpm: 10 }] },
        cache: { enabled: false }
      })
      const replies = yield* Effect.forEach(Array.from({ length: 30 }, (_, i) => i), (i) =>
        call(url, i % 2 === 0 ? "/v1/chat/completions" : "/v1/chat/completions?via=router", {
          body: chat("gpt-4o-mini", `q${i}`, i % 3 === 0 ? { stream: true } : {}),
          headers: bearer(limitedKey)
        }), { concurrency: "unbounded" })
      const ok = replies.filter((r) => r.status === 200).length
      const limited = replies.filter((r) => r.status === 429)
      assert.strictEqual(ok, 10, replies.map((r) => r.status).join(","))
      assert.strictEqual(limited.length, 20)
      for (const r of limited) {
        assert.strictEqual(r.json.error.code, "virtual_key_rate_limited")
        assert.isNotNull(r.headers.get("retry-after"))
        assert.isNotNull(r.headers.get("x-request-id"))
      }
      const keys = yield* call(url, "/admin/keys", { headers: bearer(master) })
      assert.strictEqual(keys.json.virtualKeys[0].lastMinute, 10)
    }), { timeout: 30_000 })

  it.scopedLive("30 parallel requests never spend past the team's budget, and the spend is the team's in /admin/costs", () =>
    Effect.gen(function* () {
      const { url } = yield* serveOverFakes({
        auth: { virtualKeys: [{ name: "spender", sha256: sha256(spenderKey), agentType: "spender" }] },
        cache: { enabled: false },
        budgets: { perAgentType: { spender: { daily: 0.00005 } } },
        records: { flushIntervalMs: 5 }
      })
      const replies = yield* Effect.forEach(Array.from({ length: 30 }, (_, i) => i), (i) =>
        call(url, "/v1/chat/completions", {
          body: chat(i % 2 === 0 ? "gpt-4o-mini" : "auto", `q${i}`, { modelgate: { agentType: "someone-else" } }),
          headers: { ...bearer(spenderKey), "x-modelgate-agent-type": "another" }
        }), { concurrency: "unbounded" })
      const ok = replies.filter((r) => r.status === 200)
      assert.isAbove(ok.length, 0)
      for (const r of replies.filter((r) => r.status !== 200)) {
        assert.strictEqual(r.status, 429, r.text)
        assert.strictEqual(r.json.error.code, "budget_exceeded")
      }
      const spent = ok.reduce((n, r) => n + Number(r.headers.get("x-modelgate-cost-usd")), 0)
      assert.isAtMost(spent, 0.00005 + 1e-12)
      const budgets = yield* call(url, "/admin/budgets", { headers: bearer(master) })
      assert.include(budgets.text, "spender")
      // Records are written behind: wait for them.
      let costs: any
      for (let i = 0; i < 200; i++) {
        costs = (yield* call(url, "/admin/costs?by=agent&from=1h", { headers: bearer(master) })).json
        const group = JSON.stringify(costs)
        if (group.includes("spender") && (costs.groups ?? costs.data ?? []).find((g: any) => g.key === "spender")?.requests === ok.length) break
        yield* Effect.sleep("20 millis")
      }
      const text = JSON.stringify(costs)
      assert.include(text, "spender", text)
      assert.notInclude(text, "someone-else")
      assert.notInclude(text, "another")
    }), { timeout: 30_000 })
})
