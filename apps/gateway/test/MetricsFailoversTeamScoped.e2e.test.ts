/**
 * `GET /v1/metrics` with a team's virtual key counts that team's failovers
 * only: on a model two teams share, another team's failovers (when, how
 * often its requests moved away) are not its business. The master key
 * counts every team's. Checked once the records are in the database (the
 * SQL metrics store), as a gateway that ran a while answers.
 */
import { assert, describe, it } from "@effect/vitest"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect } from "effect"
import { rows, waitUntil } from "./support/FourProviderStack.js"
import { bearer, call, chat, master, serveOverFakes, sha256 } from "./support/VkStack.js"

const teamA = "mg-failover-team-a-secret"
const teamB = "mg-failover-team-b-secret"
const keys = [
  { name: "team-a-key", sha256: sha256(teamA), agentType: "team-a" },
  { name: "team-b-key", sha256: sha256(teamB), agentType: "team-b" }
]

const failoversOf = (json: any, model: string): number | undefined =>
  json.models.find((m: any) => m.model === model)?.metrics.failovers

describe("failovers in /v1/metrics across teams", () => {
  it.scopedLive("a team counts its own failovers on a shared model, never another team's; the master key counts all", () =>
    Effect.gen(function* () {
      const { db, openai, url } = yield* serveOverFakes({ cache: { enabled: false }, auth: { virtualKeys: keys } })
      // Team A's request fails over (gpt-4o-mini answers 503, its fallback claude-haiku answers); team B's is answered by gpt-4o-mini.
      yield* openai.script(Fault.status(503))
      const own = yield* call(url, "/v1/chat/completions", { body: chat("gpt-4o-mini"), headers: bearer(teamA) })
      assert.strictEqual(own.headers.get("x-modelgate-failovers"), "1", own.text)
      const other = yield* call(url, "/v1/chat/completions", { body: chat("gpt-4o-mini"), headers: bearer(teamB) })
      assert.strictEqual(other.headers.get("x-modelgate-model"), "gpt-4o-mini", other.text)
      const written = yield* waitUntil(
        () => rows<{ n: number }>(db, "SELECT (SELECT COUNT(*) FROM failover_events) + (SELECT COUNT(*) FROM cost_records) AS n")[0]?.n,
        (n) => n === 3
      )
      assert.strictEqual(written, 3, "the records reached the database")

      const teamBMetrics = yield* call(url, "/v1/metrics", { headers: bearer(teamB) })
      assert.strictEqual(teamBMetrics.status, 200, teamBMetrics.text)
      assert.strictEqual(failoversOf(teamBMetrics.json, "gpt-4o-mini"), 0, "team B sees team A's failover away from the shared model")
      assert.strictEqual(teamBMetrics.json.totals.failovers, 0)

      const teamAMetrics = yield* call(url, "/v1/metrics", { headers: bearer(teamA) })
      assert.strictEqual(failoversOf(teamAMetrics.json, "gpt-4o-mini"), 1)
      assert.strictEqual(teamAMetrics.json.totals.failovers, 1)

      const all = yield* call(url, "/v1/metrics", { headers: bearer(master) })
      assert.strictEqual(failoversOf(all.json, "gpt-4o-mini"), 1)
      assert.strictEqual(all.json.totals.failovers, 1)
    }), { timeout: 30_000 })
})
