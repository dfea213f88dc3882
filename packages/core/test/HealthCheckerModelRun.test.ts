/**
 * A model's own failures count toward `failureThreshold` only while close
 * together: one more than `2 × intervalMs + timeoutMs` after the last failure
 * of its run starts a new run (as at an endpoint, `HealthCheckerEndpoint`), so
 * two failed calls in the morning and one in the evening, with no calls in
 * between, do not take the model out. Passive mode (no probes).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { HealthChecker } from "../src/HealthChecker.js"
import { passiveHealthLayer } from "./PassiveHealthLayer.js"
import { testModel } from "./TestModels.js"

/** Passive signals only, three failures in a row make a model unavailable; window 2 × 60 s + 10 s = 130 s. */
const testLayer = passiveHealthLayer([testModel("gpt")], ["openai"])

/** Let the checker's registry fiber run. */
const settle = Effect.repeatN(Effect.yieldNow(), 50)

describe("HealthChecker: a model's own failures count only while close together", () => {
  it.effect("two failed calls in the morning and one in the evening leave the model available", () =>
    Effect.gen(function* () {
      const health = yield* HealthChecker
      yield* settle
      yield* health.reportFailure("gpt", "ServerError")
      yield* health.reportFailure("gpt", "ServerError")
      yield* TestClock.adjust(10 * 3_600_000)
      yield* health.reportFailure("gpt", "ServerError")
      const status = yield* health.status("gpt")
      assert.notStrictEqual(status.status, "unavailable")
      assert.strictEqual(status.consecutiveFailures, 1)
      assert.isTrue(yield* health.isAvailable("gpt"))
      // A new run, just past the window after its last failure: two, not three.
      yield* TestClock.adjust(130_001)
      yield* health.reportFailure("gpt", "ServerError")
      assert.strictEqual((yield* health.status("gpt")).consecutiveFailures, 1)
      assert.isTrue(yield* health.isAvailable("gpt"))
    }).pipe(Effect.provide(testLayer)))

  it.effect("three failed calls each within the window of the one before take the model out, as before", () =>
    Effect.gen(function* () {
      const health = yield* HealthChecker
      yield* settle
      yield* health.reportFailure("gpt", "ServerError")
      yield* TestClock.adjust(130_000)
      yield* health.reportFailure("gpt", "ServerError")
      yield* TestClock.adjust(130_000)
      yield* health.reportFailure("gpt", "ServerError")
      const status = yield* health.status("gpt")
      assert.strictEqual(status.status, "unavailable")
      assert.include(status.reason, "3 consecutive failures")
      assert.isFalse(yield* health.isAvailable("gpt"))
    }).pipe(Effect.provide(testLayer)))

  it.effect("a model out stays out and keeps counting when its retries fail far apart (its backoff grows)", () =>
    Effect.gen(function* () {
      const health = yield* HealthChecker
      yield* settle
      for (let i = 0; i < 3; i++) yield* health.reportFailure("gpt", "ServerError")
      yield* TestClock.adjust(10 * 3_600_000)
      yield* health.reportFailure("gpt", "ServerError")
      const status = yield* health.status("gpt")
      assert.strictEqual(status.status, "unavailable")
      assert.strictEqual(status.consecutiveFailures, 4)
      const [out] = yield* health.availability!(["gpt"])
      assert.strictEqual(out!.retryAfterMs, 120_000)
    }).pipe(Effect.provide(testLayer)))
})
