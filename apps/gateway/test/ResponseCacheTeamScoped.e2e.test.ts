/**
 * The response cache keeps each team's answers to itself: a request accounted
 * to one agent type (a virtual key binds it) is never answered from another
 * agent type's cached answer. A hit would tell team B that someone asked
 * exactly this (`x-modelgate-cache: hit`, a zero cost, its latency), as
 * OpenAI's and Anthropic's prompt caches are kept apart per organization for;
 * and team B would be served what team A's budget paid for.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { bearer, call, chat, master, serveOverFakes, sha256 } from "./support/VkStack.js"

const teamA = "mg-cache-team-a-secret"
const teamB = "mg-cache-team-b-secret"
const keys = [
  { name: "team-a-key", sha256: sha256(teamA), agentType: "team-a" },
  { name: "team-b-key", sha256: sha256(teamB), agentType: "team-b" }
]

describe("response cache across teams", () => {
  it.scopedLive("a team's cached answer is replayed to that team only", () =>
    Effect.gen(function* () {
      const { openai, url } = yield* serveOverFakes({ auth: { virtualKeys: keys } })
      const body = chat("gpt-4o-mini", "summarise the layoff plan for the Berlin office", { temperature: 0 })
      const first = yield* call(url, "/v1/chat/completions", { body, headers: bearer(teamA) })
      assert.strictEqual(first.status, 200, first.text)
      const own = yield* call(url, "/v1/chat/completions", { body, headers: bearer(teamA) })
      assert.strictEqual(own.headers.get("x-modelgate-cache"), "hit", "a team's own answers are cached for it")
      const other = yield* call(url, "/v1/chat/completions", { body, headers: bearer(teamB) })
      assert.strictEqual(other.status, 200, other.text)
      assert.strictEqual(other.headers.get("x-modelgate-cache"), "miss", "team B got team A's cached answer")
      // Team B's own answer is cached for team B (its stream replays it): the provider answered each team once.
      const otherStreamed = yield* call(url, "/v1/chat/completions", { body: { ...body, stream: true }, headers: bearer(teamB) })
      assert.strictEqual(otherStreamed.headers.get("x-modelgate-cache"), "hit")
      assert.lengthOf(yield* openai.requests, 2)
      // Team B's records: what it asked was answered by the provider, at a cost, never as a hit of A's.
      const metrics = yield* call(url, "/v1/metrics", { headers: bearer(teamB) })
      assert.strictEqual(metrics.json.totals.cacheHits, 1)
      assert.strictEqual(metrics.json.totals.answered, 2)
      assert.isAbove(metrics.json.totals.costUsd, 0)
      // The master key stating team A's agent type is accounted to team A: its answers are team A's.
      const stated = yield* call(url, "/v1/chat/completions", { body, headers: { ...bearer(master), "x-modelgate-agent-type": "team-a" } })
      assert.strictEqual(stated.headers.get("x-modelgate-cache"), "hit")
    }), { timeout: 30_000 })
})
