/**
 * A model that lost its traffic gets it back once it is good again: with the
 * live monitor and selector, a cheaper model that was slow and failing, left
 * without calls while its replacement does well, is tried again (one trial
 * call at a time) and wins its traffic back when it answers well; one that is
 * still slow is tried a few times, one at a time, and stays behind.
 */
import { assert, describe, it } from "@effect/vitest"
import { PerformanceRecord } from "@modelgate/domain/Records"
import { Clock, Context, Effect, Layer, TestClock } from "effect"
import { Events } from "../src/Events.js"
import * as GatewayConfig from "../src/GatewayConfig.js"
import { HealthChecker } from "../src/HealthChecker.js"
import * as ModelRegistry from "../src/ModelRegistry.js"
import * as ModelSelector from "../src/ModelSelector.js"
import * as PerformanceMonitor from "../src/PerformanceMonitor.js"
import { trialTimeoutMs } from "../src/PerformanceMonitor/Trials.js"
import { RateLimiter } from "../src/RateLimiter.js"
import * as RecordSink from "../src/RecordSink.js"
import { makeEvents, makeHealth, makeLimiter, model } from "./RoutingFixtures.js"

const setup = Effect.gen(function*() {
  const health = yield* makeHealth()
  const limiter = yield* makeLimiter
  const events = yield* makeEvents
  const models = [model("cheap", { pricing: { inputPerMillion: 0.5, outputPerMillion: 2 } }), model("dear")]
  const base = Layer.mergeAll(
    ModelRegistry.layerMemory(models),
    Layer.succeed(HealthChecker, health.service),
    Layer.succeed(RateLimiter, limiter.service),
    Layer.succeed(Events, events.service),
    GatewayConfig.layerStatic(undefined)
  )
  const context = yield* Layer.build(PerformanceMonitor.layer.pipe(Layer.provideMerge(RecordSink.layerMemory), Layer.provideMerge(base)))
  const monitor = Context.get(context, PerformanceMonitor.PerformanceMonitor)
  const selector = yield* Effect.provide(ModelSelector.make, Layer.succeedContext(context))
  let n = 0
  const call = (id: string, latencyMs: number, success = true) =>
    Effect.flatMap(Clock.currentTimeMillis, (at) =>
      monitor.record(PerformanceRecord.make({
        at,
        requestId: `r${n++}`,
        model: id,
        provider: "openai",
        latencyMs,
        success,
        ...(success ? {} : { errorClass: "ServerError" }),
        outputTokens: 0,
        streamed: false,
        cacheHit: false
      })))
  const first = (dryRun = false) =>
    Effect.map(
      selector.rank({ requirements: { capabilities: [], priority: "MEDIUM" }, estimatedPromptTokens: 1_000, maxOutputTokens: 500, dryRun }),
      (r) => r.ranked[0]!.model.id
    )
  // cheap was the choice; then an outage: slow, then failing (health took it out, not modelled here);
  // traffic went to dear for an hour
  const outage = Effect.gen(function*() {
    for (let i = 0; i < 20; i++) yield* call("cheap", 300)
    assert.strictEqual(yield* first(true), "cheap")
    yield* TestClock.adjust(300_000)
    for (let i = 0; i < 20; i++) yield* call("cheap", 10_000)
    for (let i = 0; i < 10; i++) yield* call("cheap", 30_000, false)
    for (let minute = 0; minute < 60; minute++) {
      for (let i = 0; i < 20; i++) yield* call("dear", 300)
      yield* TestClock.adjust(60_000)
    }
  })
  return { call, first, outage }
})

describe("performance comeback", () => {
  it.scoped("a cheaper model that recovered is tried again, one call at a time, and wins its traffic back", () =>
    Effect.gen(function*() {
      const { call, first, outage } = yield* setup
      yield* outage
      // an hour later cheap's calls have expired: it is tried (a dry run claims nothing)
      assert.strictEqual(yield* first(true), "cheap")
      assert.strictEqual(yield* first(true), "cheap")
      for (let trial = 0; trial < 5; trial++) {
        assert.strictEqual(yield* first(), "cheap", `trial ${trial}`)
        // while the trial is in flight, the other requests go to dear
        assert.strictEqual(yield* first(), "dear")
        assert.strictEqual(yield* first(), "dear")
        yield* call("cheap", 300)
      }
      // measured again and good: cheap is the choice for every request
      for (let i = 0; i < 5; i++) assert.strictEqual(yield* first(), "cheap")
    }))

  it.scoped("a model still slow is tried a few times, one at a time, then stays behind", () =>
    Effect.gen(function*() {
      const { call, first, outage } = yield* setup
      yield* outage
      let trials = 0
      for (let i = 0; i < 40; i++) {
        if ((yield* first()) === "cheap") {
          trials++
          assert.strictEqual(yield* first(), "dear", "one trial at a time")
          yield* call("cheap", 10_000)
        }
        yield* call("dear", 300)
      }
      assert.isAtLeast(trials, 1)
      assert.isAtMost(trials, 4)
      assert.strictEqual(yield* first(), "dear")
    }))

  it.scoped("a trial whose call never comes (the request went elsewhere) is given up after its timeout", () =>
    Effect.gen(function*() {
      const { first, outage } = yield* setup
      yield* outage
      assert.strictEqual(yield* first(), "cheap")
      assert.strictEqual(yield* first(), "dear")
      yield* TestClock.adjust(trialTimeoutMs - 1)
      assert.strictEqual(yield* first(), "dear")
      yield* TestClock.adjust(1)
      assert.strictEqual(yield* first(), "cheap")
    }))
})
