/**
 * Scenario: a provider turns slow -> PerformanceDegraded -> the `auto` ranking
 * puts the slow model below the one it led before. Real time (the monitor
 * measures latency with the Clock, the fake's delay is wall time), with small
 * performance windows.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { ModelSelector } from "@modelgate/core/ModelSelector"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect } from "effect"
import { ask, models, recordEvents, stack } from "./fixture.js"

const SLOW_MS = 1_200

/** Same price and limits for both models, so that performance decides between them; gpt-4o-mini a little better on paper. */
const registry = () => {
  const base = models({ rpm: 1_000 })
  return {
    ...base,
    models: base.models.map((m) =>
      m.id === "gpt-4o-mini"
        ? { ...m, qualityScore: 0.75 }
        : { ...m, pricing: { inputPerMillion: 0.15, outputPerMillion: 0.6, cachedInputPerMillion: 0.075 }, rateLimits: { rpm: 1_000, tpm: 2_000_000 } }
    )
  }
}

describe("Scenario: slow provider -> degradation -> ranking", () => {
  it.scopedLive("detects the slow model and ranks it below the model it led before", () =>
    Effect.gen(function* () {
      const s = yield* stack({
        models: registry(),
        gateway: {
          cache: { enabled: false },
          performance: { recentRequests: 100, recentWindowMs: 1_000, baselineWindowMs: 6_000, latencyDegradationFactor: 2 }
        }
      })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const selector = yield* ModelSelector
        const events = yield* recordEvents
        const send = (model: string, i: number) => gateway.complete(ask(`performance ${model} ${i}`, model), defaultRequirements)
        const rankAuto = Effect.map(
          selector.rank({ requirements: defaultRequirements, estimatedPromptTokens: 10, maxOutputTokens: 100 }),
          (r) => r.ranked
        )
        const fastRound = (model: string) => Effect.forEach(Array.from({ length: 12 }, (_, i) => i), (i) => send(model, i), { discard: true })

        // both fast: gpt-4o-mini leads
        yield* fastRound("gpt-4o-mini")
        yield* fastRound("claude-haiku")
        const before = yield* rankAuto
        assert.deepStrictEqual(before.map((r) => r.model.id), ["gpt-4o-mini", "claude-haiku"])
        assert.strictEqual((yield* events.ofTag("PerformanceDegraded")).length, 0)

        // the OpenAI fake turns slow
        yield* s.openai.persist(Fault.delay({ headersMs: SLOW_MS }))
        const slow = yield* Effect.forEach(Array.from({ length: 8 }, (_, i) => i), (i) => send("gpt-4o-mini", 100 + i), {
          concurrency: "unbounded"
        })
        assert.isTrue(slow.every((a) => a.meta.model === "gpt-4o-mini"))
        const degraded = yield* events.waitFor("PerformanceDegraded", (e) => e.model === "gpt-4o-mini", 2_000)
        assert.strictEqual(degraded.metric, "latency")
        assert.isAtLeast(degraded.recent, SLOW_MS)
        assert.isAbove(degraded.recent, 2 * degraded.baseline)
        assert.isFalse((yield* events.ofTag("PerformanceDegraded")).some((e) => e.model === "claude-haiku"))

        // the other model is still fast; the ranking now puts the slow one second
        yield* s.openai.persist(undefined)
        yield* fastRound("claude-haiku")
        const after = yield* rankAuto
        assert.deepStrictEqual(after.map((r) => r.model.id), ["claude-haiku", "gpt-4o-mini"])
        const scoreOf = (ranked: typeof before, id: string) => ranked.find((r) => r.model.id === id)!
        assert.isBelow(scoreOf(after, "gpt-4o-mini").parts.performance, scoreOf(before, "gpt-4o-mini").parts.performance)
        assert.isBelow(scoreOf(after, "gpt-4o-mini").score, scoreOf(before, "gpt-4o-mini").score)
        // and `auto` requests now go to the fast model
        const routed = yield* gateway.complete(ask("where do I go now?", "auto"), defaultRequirements)
        assert.strictEqual(routed.meta.model, "claude-haiku")
      }).pipe(Effect.provide(s.layer))
    }), 20_000)
})
