/**
 * Scenario: the cheaper of two equally good models has an outage, health
 * takes it out, its traffic goes to the other; it recovers (a probe passes)
 * once its recent calls have expired. With no recent calls it is tried
 * again, one trial call at a time (the requests that arrive while a trial
 * is in flight go to the other model), and wins its traffic back when it
 * answers well; when it comes back slow, it is tried a few times and stays
 * behind.
 *
 * Time is `TestClock`; the fakes answer over real sockets. Performance
 * windows: recent 60 s. Probes every 30 s (backoff capped at 30 s).
 * Timeline: 0 s: gpt-4o-mini serves; it answers 500 and three requests take
 * it out; 10 s .. 110 s: claude-haiku serves two requests every 10 s;
 * 100 s: the OpenAI fake answers again; the probe at 120 s brings
 * gpt-4o-mini back, with its calls of 0 s expired. A request that names
 * claude-haiku then (gpt-4o-mini is its fallback) leaves the trial to the
 * next `auto` request.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { HealthChecker } from "@modelgate/core/HealthChecker"
import { ModelSelector } from "@modelgate/core/ModelSelector"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect, Fiber, TestClock } from "effect"
import { ask, models, poll, stack } from "./fixture.js"

/** The same quality and limits, each the other's fallback; gpt-4o-mini half the price of claude-haiku. */
const registry = () => {
  const base = models()
  return {
    ...base,
    models: base.models.map((m) => ({
      ...m,
      capabilities: ["chat", "tools", "streaming"],
      qualityScore: 0.7,
      rateLimits: { rpm: 100_000, tpm: 100_000_000 },
      pricing: m.id === "gpt-4o-mini" ? { inputPerMillion: 0.5, outputPerMillion: 2.5 } : { inputPerMillion: 1, outputPerMillion: 5 },
      fallbacks: m.id === "gpt-4o-mini" ? ["claude-haiku"] : ["gpt-4o-mini"]
    }))
  }
}

const SLOW_MS = 4_000
/** Requests sent at once while the cheaper model is on trial. */
const BURST = 5

const comeback = (slow: boolean) =>
  Effect.gen(function* () {
    const s = yield* stack({
      models: registry(),
      gateway: {
        cache: { enabled: false },
        healthCheck: { enabled: true, intervalMs: 30_000, failureThreshold: 3, backoffCapMs: 30_000 },
        performance: { recentWindowMs: 60_000, baselineWindowMs: 600_000 },
        failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0 }
      }
    })
    yield* Effect.gen(function* () {
      const gateway = yield* Gateway
      const health = yield* HealthChecker
      const selector = yield* ModelSelector
      let n = 0
      const auto = Effect.suspend(() =>
        Effect.map(gateway.complete(ask(`comeback ${n++}`, "auto"), defaultRequirements), (a) => a.meta.model as string)
      )
      const dryFirst = Effect.map(
        selector.rank({ requirements: defaultRequirements, estimatedPromptTokens: 10, maxOutputTokens: 100, dryRun: true }),
        (r) => r.ranked[0]?.model.id as string
      )
      // chat calls (probes are GETs)
      const calls = (server: typeof s.openai) => Effect.map(server.requests, (rs) => rs.filter((r) => r.method === "POST").length)
      const openAiCalls = calls(s.openai)
      const anthropicCalls = calls(s.anthropic)
      const status = health.status("gpt-4o-mini")
      yield* poll(status, (h) => h.status === "available", 5_000, "the probe at start")

      // the cheaper model serves
      for (let i = 0; i < 6; i++) assert.strictEqual(yield* auto, "gpt-4o-mini")
      // an outage: three requests fail over, health takes it out
      yield* s.openai.persist(Fault.status(500))
      for (let i = 0; i < 3; i++) assert.strictEqual(yield* auto, "claude-haiku")
      assert.strictEqual((yield* status).status, "unavailable")
      // claude-haiku serves; the OpenAI fake is back at 100 s, the probe at 120 s finds it
      for (let t = 10_000; t <= 110_000; t += 10_000) {
        yield* TestClock.setTime(t)
        if (t === 100_000) yield* s.openai.persist(undefined)
        for (let i = 0; i < 2; i++) assert.strictEqual(yield* auto, "claude-haiku")
      }
      assert.strictEqual((yield* status).status, "unavailable")
      yield* TestClock.setTime(120_000)
      yield* poll(status, (h) => h.status === "available", 5_000, "the probe at 120 s")
      // no recent call of gpt-4o-mini (its last at 0 s): the benefit of the doubt
      assert.strictEqual(yield* dryFirst, "gpt-4o-mini")
      // a request naming claude-haiku (gpt-4o-mini its fallback) is answered by it, and takes no trial of gpt-4o-mini
      const named = yield* gateway.complete(ask("named", "claude-haiku"), defaultRequirements)
      assert.strictEqual(named.meta.model, "claude-haiku")

      let trials = 0
      for (let i = 0; i < 20 && trials < 5; i++) {
        if ((yield* dryFirst) === "gpt-4o-mini") {
          trials++
          // a burst of requests ranked together: one of them is the trial, the others go to the other model
          const gate = yield* Effect.makeLatch(false)
          yield* s.openai.persist(Fault.hold(gate))
          const before = yield* openAiCalls
          const answeredBefore = yield* anthropicCalls
          const burst = yield* Effect.fork(Effect.all(Array.from({ length: BURST }, () => auto), { concurrency: "unbounded" }))
          yield* poll(openAiCalls, (count) => count === before + 1, 5_000, `the call of trial ${trials}`)
          yield* poll(anthropicCalls, (count) => count === answeredBefore + BURST - 1, 5_000, `the other ${BURST - 1} requests of trial ${trials}`)
          assert.strictEqual(yield* openAiCalls, before + 1, `one trial call at a time (trial ${trials})`)
          if (slow) yield* TestClock.adjust(SLOW_MS)
          yield* s.openai.persist(undefined)
          yield* gate.open
          const served = yield* Fiber.join(burst)
          assert.strictEqual(served.filter((m) => m === "gpt-4o-mini").length, 1, `trial ${trials}`)
        } else {
          assert.strictEqual(yield* auto, "claude-haiku")
        }
        yield* TestClock.adjust(1_000)
      }
      if (slow) {
        assert.isAtLeast(trials, 1)
        assert.isAtMost(trials, 4)
        assert.strictEqual(yield* auto, "claude-haiku")
      } else {
        assert.strictEqual(trials, 5, "measured again after five trial calls")
        for (let i = 0; i < 5; i++) assert.strictEqual(yield* auto, "gpt-4o-mini")
      }
    }).pipe(Effect.provide(s.layer))
  })

describe("Scenario: a model back from an outage wins its traffic back", () => {
  it.scoped("tried one call at a time once its calls expired, it serves `auto` again when it answers well", () => comeback(false), 60_000)
  it.scoped("back but slow, it is tried a few times, one at a time, and stays behind", () => comeback(true), 60_000)
})
