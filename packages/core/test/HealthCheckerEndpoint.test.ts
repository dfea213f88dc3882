/**
 * Health of a provider's endpoint, shared by its models: failures that got no
 * answer at all from the endpoint (`EndpointEvidence` "down") count across
 * every model served there, and `failureThreshold` of them in a row take all
 * of them out; the next success at the endpoint brings back those it took
 * out. Timeouts ("stalled") count only once two models show them. Failures
 * the endpoint answered are their model's own, and end a run. A run counts
 * only failures close together: one more than `2 × intervalMs + timeoutMs`
 * after the run's last failure starts a new run. Passive mode
 * (no probes): a model the endpoint took out is tried again after the interval.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { HealthChecker } from "../src/HealthChecker.js"
import { passiveHealthLayer } from "./PassiveHealthLayer.js"
import { testModel } from "./TestModels.js"

/** Passive signals only (no probes), three failures in a row make a model unavailable, retried after 60 s. */
const testLayer = passiveHealthLayer(
  [testModel("gpt"), testModel("mini"), testModel("claude", { provider: "anthropic" })],
  ["openai", "anthropic"]
)

/** Let the checker's registry fiber run. */
const settle = Effect.repeatN(Effect.yieldNow(), 50)

const statuses = Effect.flatMap(HealthChecker, (h) =>
  Effect.all({ gpt: h.status("gpt"), mini: h.status("mini"), claude: h.status("claude") })).pipe(
    Effect.map((s) => [s.gpt.status, s.mini.status, s.claude.status])
  )

describe("HealthChecker: an endpoint's failures count for every model served there", () => {
  it.effect("three calls with no answer across two models take out both; the other provider's model stays", () =>
    Effect.gen(function* () {
      const health = yield* HealthChecker
      yield* settle
      yield* health.reportFailure("gpt", "Transport", undefined, "down")
      yield* health.reportFailure("mini", "Transport", undefined, "down")
      assert.deepStrictEqual(yield* statuses, ["unknown", "unknown", "unknown"])
      yield* health.reportFailure("gpt", "Transport", undefined, "down")
      assert.deepStrictEqual(yield* statuses, ["unavailable", "unavailable", "unknown"])
      assert.include((yield* health.status("mini")).reason, "endpoint of openai down")
    }).pipe(Effect.provide(testLayer)))

  it.effect("a success of one model brings back the others its endpoint took out", () =>
    Effect.gen(function* () {
      const health = yield* HealthChecker
      yield* settle
      for (let i = 0; i < 3; i++) yield* health.reportFailure("gpt", "Transport", undefined, "down")
      assert.deepStrictEqual(yield* statuses, ["unavailable", "unavailable", "unknown"])
      yield* TestClock.adjust(60_000)
      yield* health.reportSuccess("gpt", 100)
      assert.deepStrictEqual(yield* statuses, ["available", "available", "unknown"])
      assert.include((yield* health.status("mini")).reason, "recovered")
    }).pipe(Effect.provide(testLayer)))

  it.effect("failures the endpoint answered stay their model's", () =>
    Effect.gen(function* () {
      const health = yield* HealthChecker
      yield* settle
      for (let i = 0; i < 3; i++) yield* health.reportFailure("gpt", "ServerError")
      assert.deepStrictEqual(yield* statuses, ["unavailable", "unknown", "unknown"])
    }).pipe(Effect.provide(testLayer)))

  it.effect("an answer in between ends a run of failures with no answer; another endpoint's failures are not in it", () =>
    Effect.gen(function* () {
      const health = yield* HealthChecker
      yield* settle
      yield* health.reportFailure("gpt", "Transport", undefined, "down")
      yield* health.reportFailure("mini", "Transport", undefined, "down")
      yield* health.reportFailure("gpt", "ServerError")
      yield* health.reportFailure("claude", "Transport", undefined, "down")
      yield* health.reportFailure("mini", "Transport", undefined, "down")
      assert.deepStrictEqual(yield* statuses, ["unknown", "unknown", "unknown"])
    }).pipe(Effect.provide(testLayer)))

  it.effect("a run counts only failures close together: two in the morning and one in the evening are not three in a row", () =>
    Effect.gen(function* () {
      const health = yield* HealthChecker
      yield* settle
      yield* health.reportFailure("gpt", "Transport", undefined, "down")
      yield* health.reportFailure("mini", "Transport", undefined, "down")
      yield* TestClock.adjust(10 * 3_600_000)
      yield* health.reportFailure("gpt", "Transport", undefined, "down")
      assert.deepStrictEqual(yield* statuses, ["unknown", "unknown", "unknown"])
      // A new run, just past the window (2 × 60 s + 10 s) after its last failure: two, not three.
      yield* TestClock.adjust(130_001)
      yield* health.reportFailure("mini", "Transport", undefined, "down")
      assert.deepStrictEqual(yield* statuses, ["unknown", "unknown", "unknown"])
    }).pipe(Effect.provide(testLayer)))

  it.effect("failures each within the window (2 × intervalMs + timeoutMs) of the run's last stay in the run", () =>
    Effect.gen(function* () {
      const health = yield* HealthChecker
      yield* settle
      yield* health.reportFailure("gpt", "Transport", undefined, "down")
      yield* TestClock.adjust(130_000)
      yield* health.reportFailure("mini", "Transport", undefined, "down")
      yield* TestClock.adjust(130_000)
      yield* health.reportFailure("gpt", "Transport", undefined, "down")
      assert.deepStrictEqual(yield* statuses, ["unavailable", "unavailable", "unknown"])
      assert.include((yield* health.status("mini")).reason, "3 calls or probes there in a row")
    }).pipe(Effect.provide(testLayer)))

  it.effect("timeouts of one model take out only it; a second model's timeout then takes out the endpoint", () =>
    Effect.gen(function* () {
      const health = yield* HealthChecker
      yield* settle
      for (let i = 0; i < 5; i++) yield* health.reportFailure("gpt", "Timeout", undefined, "stalled")
      assert.deepStrictEqual(yield* statuses, ["unavailable", "unknown", "unknown"])
      yield* health.reportFailure("mini", "Timeout", undefined, "stalled")
      assert.deepStrictEqual(yield* statuses, ["unavailable", "unavailable", "unknown"])
    }).pipe(Effect.provide(testLayer)))

  it.effect("with probes off, a model its endpoint took out is tried again after the interval", () =>
    Effect.gen(function* () {
      const health = yield* HealthChecker
      yield* settle
      for (let i = 0; i < 3; i++) yield* health.reportFailure("gpt", "Transport", undefined, "down")
      const [out] = yield* health.availability!(["mini"])
      assert.deepStrictEqual([out!.available, out!.retryAfterMs], [false, 60_000])
      yield* TestClock.adjust(60_000)
      const [due] = yield* health.availability!(["mini"])
      assert.isTrue(due!.available)
    }).pipe(Effect.provide(testLayer)))
})
