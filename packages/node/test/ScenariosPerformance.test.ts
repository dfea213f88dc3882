/**
 * Scenario: a provider turns slow -> PerformanceDegraded -> the `auto` ranking
 * puts the slow model below the one it led before.
 *
 * Time is `TestClock`; the fakes still answer over real sockets. Each round's
 * requests are held by the fake (`Fault.hold`) until all have arrived, the
 * clock moves by the round's latency, then they are answered, so every call
 * of a round takes exactly that long for the gateway (`answeredAfter`).
 *
 * Timeline (TestClock ms; performance windows: recent 1 s, baseline 6 s in
 * 100 ms slots; a call is timed and stamped when it ends):
 * - 0 -> 100: 12 gpt-4o-mini calls of FAST_MS (slot [100, 200));
 * - 100 -> 200: 12 claude-haiku calls of FAST_MS (slot [200, 300));
 * - 200 -> 1400: 8 gpt-4o-mini calls of SLOW_MS. At 1400 the recent window
 *   (400, 1400] holds only them, the baseline (slots ending by 400) the fast
 *   round: 12 samples, at least the 10 the monitor needs;
 * - 1400 -> 1500: 12 claude-haiku calls of FAST_MS: its recent window (500, 1500]
 *   holds them, its baseline its first round: judged, not degraded.
 * Every adjust stays far below the provider timeouts (5 s) of the stack.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { ModelSelector } from "@modelgate/core/ModelSelector"
import { PerformanceDetails } from "@modelgate/core/PerformanceMonitor"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Effect } from "effect"
import { answeredAfter, ask, models, recordEvents, stack } from "./fixture.js"

const FAST_MS = 100
const SLOW_MS = 1_200
const ROUND = 12
const SLOW_CALLS = 8

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
  it.scoped("detects the slow model and ranks it below the model it led before", () =>
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
        const monitor = yield* PerformanceDetails
        const events = yield* recordEvents
        const send = (model: string, i: number) => gateway.complete(ask(`performance ${model} ${i}`, model), defaultRequirements)
        const rankAuto = Effect.map(
          selector.rank({ requirements: defaultRequirements, estimatedPromptTokens: 10, maxOutputTokens: 100 }),
          (r) => r.ranked
        )
        /** `count` concurrent calls to `model`, each answered after `ms` of TestClock time. */
        const round = (model: string, count: number, ms: number, from: number) =>
          answeredAfter(
            model === "gpt-4o-mini" ? s.openai : s.anthropic,
            count,
            ms,
            Effect.forEach(Array.from({ length: count }, (_, i) => from + i), (i) => send(model, i), { concurrency: "unbounded" })
          )

        // both fast: gpt-4o-mini leads
        yield* round("gpt-4o-mini", ROUND, FAST_MS, 0)
        yield* round("claude-haiku", ROUND, FAST_MS, 0)
        const before = yield* rankAuto
        assert.deepStrictEqual(before.map((r) => r.model.id), ["gpt-4o-mini", "claude-haiku"])
        assert.strictEqual((yield* events.ofTag("PerformanceDegraded")).length, 0)
        assert.isFalse(yield* monitor.isDegraded("gpt-4o-mini"))

        // the OpenAI fake turns slow
        const slow = yield* round("gpt-4o-mini", SLOW_CALLS, SLOW_MS, 100)
        assert.isTrue(slow.every((a) => a.meta.model === "gpt-4o-mini"))
        const degraded = yield* events.waitFor("PerformanceDegraded", (e) => e.model === "gpt-4o-mini", 2_000)
        assert.strictEqual(degraded.metric, "latency")
        assert.isAtLeast(degraded.recent, SLOW_MS)
        assert.isAbove(degraded.recent, 2 * degraded.baseline)
        // the baseline is the fast round (histogram quantiles: within 2.5%)
        assert.approximately(degraded.baseline, FAST_MS, FAST_MS * 0.03)
        assert.isTrue(yield* monitor.isDegraded("gpt-4o-mini"))

        // the other model is still fast (judged against its own baseline: not degraded); the ranking now puts the slow one second
        yield* round("claude-haiku", ROUND, FAST_MS, 100)
        assert.isFalse(yield* monitor.isDegraded("claude-haiku"))
        assert.isFalse((yield* events.ofTag("PerformanceDegraded")).some((e) => e.model === "claude-haiku"))
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
