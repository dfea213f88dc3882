/**
 * A model real calls took out, whose probe passes while its real calls still
 * fail (the model list answers, completions answer 500 after a second): the
 * passing probe lets ONE real call through (half-open), not every request
 * that arrives before the failures take it out again. Other requests go to
 * the fallback at once, with no failover. A real call that succeeds makes
 * the model fully available again; one that fails takes it out until the
 * next probe.
 */
import { assert, describe, it } from "@effect/vitest"
import { ServerError } from "@modelgate/domain/ProviderError"
import { Effect, Fiber, TestClock } from "effect"
import { Gateway } from "../src/Gateway.js"
import { HealthCheckConfig } from "../src/GatewayConfigSchema.js"
import { HealthChecker } from "../src/HealthChecker.js"
import { ModelSelector } from "../src/ModelSelector.js"
import { trialRetryMs, trialTimeoutMs } from "../src/HealthChecker/HalfOpen.js"
import type { Provider } from "../src/Provider.js"
import { ask, costStack, requirements } from "./CostStack.js"
import { failingModelDouble } from "./FailingModelDouble.js"
import { model } from "./RoutingFixtures.js"

const broken = model("broken", { fallbacks: ["good"] })
const good = model("good")

/**
 * "broken" answers a 500 after 1 s while `state.failing`, else as "good"; its
 * probes (the model list) pass, but the first `state.failingProbes`.
 */
const state = { failing: true, brokenCalls: 0, failingProbes: 0 }
const answers = failingModelDouble("hello")
const provider: Provider = {
  ...answers,
  probe: (m, key) =>
    m.id === "broken" && state.failingProbes > 0
      ? Effect.sync(() => {
        state.failingProbes--
        return { ok: false, latencyMs: 0, error: new ServerError({ provider: "openai", model: "broken", detail: "probe", status: 500 }) }
      })
      : answers.probe(m, key),
  chat: (ctx, ...rest) =>
    ctx.model.id !== "broken" ? answers.chat(ctx, ...rest) : Effect.suspend(() => {
      state.brokenCalls++
      return state.failing
        ? Effect.zipRight(Effect.sleep("1 second"), Effect.fail(new ServerError({ provider: "openai", model: "broken", detail: "scripted", status: 500 })))
        : Effect.zipRight(Effect.sleep("1 second"), answers.chat({ ...ctx, model: good }, ...rest))
    })
}

/** The gateway over both models, probes every 60 s, three failures take a model out. */
const stack = () => costStack([broken, good], provider, { healthCheck: HealthCheckConfig.make({ intervalMs: 60_000, failureThreshold: 3 }) })

const settle = Effect.repeatN(Effect.yieldNow(), 200)

/** 20 concurrent requests naming "broken" (fallback "good"), each call taking 1 s: how many reached "broken", and who answered. */
const burst = Effect.gen(function* () {
  const gateway = yield* Gateway
  const before = state.brokenCalls
  const fiber = yield* Effect.fork(Effect.forEach(
    Array.from({ length: 20 }, (_, i) => i),
    (i) => gateway.complete(ask("broken", `question ${i}`), requirements),
    { concurrency: "unbounded" }
  ))
  yield* settle
  yield* TestClock.adjust("1 second")
  yield* settle
  yield* TestClock.adjust("1 second")
  const answered = yield* Fiber.join(fiber)
  return { calls: state.brokenCalls - before, failovers: answered.filter((a) => a.meta.failovers > 0).length }
})

describe("Health: a passing probe lets one real call through to a model real calls took out", () => {
  it.effect("one call per probe cycle reaches a model whose probes pass and completions fail; a success restores it", () =>
    Effect.gen(function* () {
      Object.assign(state, { failing: true, brokenCalls: 0, failingProbes: 0 })
      const health = yield* HealthChecker
      yield* settle
      assert.strictEqual((yield* health.status("broken")).status, "available", "the probe at start passed")

      // Never taken out: every request tries it, as before (the threshold takes it out).
      const first = yield* burst
      assert.strictEqual(first.calls, 20)
      assert.strictEqual((yield* health.status("broken")).status, "unavailable")

      for (const at of [60_000, 120_000, 180_000]) {
        yield* TestClock.setTime(at)
        yield* settle
        assert.deepInclude(yield* health.status("broken"), { status: "available", lastCheckedAt: at }, `the probe at ${at} passed`)
        const cycle = yield* burst
        assert.deepStrictEqual(cycle, { calls: 1, failovers: 1 }, `one trial call after the probe at ${at}, the others straight to the fallback`)
        assert.strictEqual((yield* health.status("broken")).status, "unavailable", "the failed trial takes it out until the next probe")
        const after = yield* burst
        assert.deepStrictEqual(after, { calls: 0, failovers: 0 }, "out until the next probe")
      }

      // It answers again: the next probe's trial call succeeds, and then every request goes to it.
      state.failing = false
      yield* TestClock.setTime(240_000)
      yield* settle
      const trial = yield* burst
      assert.deepStrictEqual(trial, { calls: 1, failovers: 0 })
      assert.strictEqual((yield* health.status("broken")).status, "available")
      const back = yield* burst
      assert.deepStrictEqual(back, { calls: 20, failovers: 0 })
    }).pipe(Effect.provide(stack())))

  it.effect("only a request that calls it first claims its trial call, never a dry run; a claim whose call never comes gives way after trialTimeoutMs", () =>
    Effect.gen(function* () {
      Object.assign(state, { failing: true, brokenCalls: 0, failingProbes: 0 })
      const health = yield* HealthChecker
      const selector = yield* ModelSelector
      const read = Effect.map(health.availability!(["broken"]), ([a]) => [a!.available, a!.retryAfterMs])
      const rank = (only: ReadonlyArray<string>, dryRun: boolean) =>
        Effect.map(selector.rank({ requirements, estimatedPromptTokens: 10, maxOutputTokens: 100, only, dryRun }), (r) => r.ranked.length)
      yield* settle
      yield* burst
      assert.deepStrictEqual(yield* read, [false, 58_000], "out until the probe at 60 s (the burst took 2 s)")
      yield* TestClock.setTime(60_000)
      yield* settle
      assert.strictEqual(yield* rank(["broken", "good"], true), 2)
      assert.strictEqual(yield* rank(["good", "broken"], false), 2, "a request that calls it only if its first model fails")
      assert.deepStrictEqual(yield* read, [true, undefined], "neither claimed its trial")
      assert.strictEqual(yield* rank(["broken", "good"], false), 2, "this request calls it first")
      assert.deepStrictEqual(yield* read, [false, trialRetryMs], "the others skip it while that call is in flight")
      const skipped = yield* selector.rank({ requirements, estimatedPromptTokens: 10, maxOutputTokens: 100, only: ["broken", "good"] })
      assert.deepStrictEqual(skipped.ranked.map((s) => s.model.id), ["good"])
      const reason = skipped.excluded.find((e) => e.model === "broken")?.reason ?? ""
      assert.include(reason, "a trial call of it is in flight; retry in 1 s", "the 1 s is the trial's retry")
      assert.notInclude(reason, "probe", "no probe is due in 1 s (the next is at 120 s)")
      yield* TestClock.adjust(trialTimeoutMs - 1)
      yield* settle
      assert.deepStrictEqual(yield* read, [false, 1])
      yield* TestClock.adjust(1)
      assert.deepStrictEqual(yield* read, [true, undefined], "no outcome within trialTimeoutMs: the next request may try it")
    }).pipe(Effect.provide(stack())))

  it.effect("a model probes alone took out is fully available again after a passing probe, as before", () =>
    Effect.gen(function* () {
      Object.assign(state, { failing: false, brokenCalls: 0, failingProbes: 3 })
      const health = yield* HealthChecker
      for (const at of [0, 60_000, 120_000]) {
        yield* TestClock.setTime(at)
        yield* settle
      }
      assert.strictEqual((yield* health.status("broken")).status, "unavailable", "three failed probes")
      yield* TestClock.setTime(180_000)
      yield* settle
      assert.strictEqual((yield* health.status("broken")).status, "available", "the probe at 180 s passed")
      assert.deepStrictEqual(yield* burst, { calls: 20, failovers: 0 })
    }).pipe(Effect.provide(stack())))
})
