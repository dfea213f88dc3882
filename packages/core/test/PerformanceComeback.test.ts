/**
 * A model that lost its traffic gets it back once it is good again: with the
 * live monitor and selector, a cheaper model that was slow and failing, left
 * without calls while its replacement does well, is tried again (one trial
 * call at a time) and wins its traffic back when it answers well; one that is
 * still slow is tried a few times, one at a time, and stays behind. A model
 * flagged degraded in its outage loses the flag once its trials measure it
 * well again.
 */
import { assert, describe, it } from "@effect/vitest"
import { PerformanceRecord } from "@modelgate/domain/Records"
import { Clock, Context, Effect, Layer, TestClock } from "effect"
import { Events } from "../src/Events.js"
import * as GatewayConfig from "../src/GatewayConfig.js"
import { HealthChecker } from "../src/HealthChecker.js"
import * as ModelOptimizer from "../src/ModelOptimizer.js"
import * as ModelRegistry from "../src/ModelRegistry.js"
import * as ModelSelector from "../src/ModelSelector.js"
import * as PerformanceMonitor from "../src/PerformanceMonitor.js"
import { trialTimeoutMs } from "../src/PerformanceMonitor/Trials.js"
import { RateLimiter } from "../src/RateLimiter.js"
import * as RecordSink from "../src/RecordSink.js"
import { makeEvents, makeHealth, makeLimiter, model } from "./RoutingFixtures.js"

const setup = (optimizer?: Partial<ModelOptimizer.ModelOptimizer["Type"]>) => Effect.gen(function*() {
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
  const details = Context.get(context, PerformanceMonitor.PerformanceDetails)
  const selector = yield* Effect.provide(
    ModelSelector.make,
    optimizer === undefined ? Layer.succeedContext(context) : Layer.merge(Layer.succeedContext(context), ModelOptimizer.layer(optimizer))
  )
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
  const first = (dryRun = false, only?: ReadonlyArray<string>, agentType?: string) =>
    Effect.map(
      selector.rank({
        requirements: { capabilities: [], priority: "MEDIUM", agentType },
        estimatedPromptTokens: 1_000,
        maxOutputTokens: 500,
        dryRun,
        only
      }),
      (r) => r.ranked[0]!.model.id
    )
  // cheap was the choice; then an outage: slow, then failing (health took it out, not modelled here),
  // flagged degraded; traffic went to dear for an hour
  const outage = Effect.gen(function*() {
    for (let i = 0; i < 20; i++) yield* call("cheap", 300)
    assert.strictEqual(yield* first(true), "cheap")
    yield* TestClock.adjust(360_000)
    for (let i = 0; i < 20; i++) yield* call("cheap", 10_000)
    for (let i = 0; i < 10; i++) yield* call("cheap", 30_000, false)
    assert.isTrue(yield* details.isDegraded("cheap"))
    for (let minute = 0; minute < 60; minute++) {
      for (let i = 0; i < 20; i++) yield* call("dear", 300)
      yield* TestClock.adjust(60_000)
    }
  })
  /** The performance line of `id` in a dry run (what `POST /admin/select` shows). */
  const performanceLine = (id: string) =>
    Effect.map(
      selector.rank({ requirements: { capabilities: [], priority: "MEDIUM" }, estimatedPromptTokens: 1_000, maxOutputTokens: 500, dryRun: true }),
      (r) => r.ranked.find((s) => s.model.id === id)!.explanation.find((line) => line.startsWith("performance"))!
    )
  return { call, details, first, outage, performanceLine }
})

describe("performance comeback", () => {
  it.scoped("a cheaper model that recovered is tried again, one call at a time, and wins its traffic back", () =>
    Effect.gen(function*() {
      const { call, details, first, outage } = yield* setup()
      yield* outage
      assert.isTrue(yield* details.isDegraded("cheap"), "no call since: still flagged")
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
      // measured again and good: cheap is the choice for every request, and no longer flagged degraded
      for (let i = 0; i < 5; i++) assert.strictEqual(yield* first(), "cheap")
      assert.isFalse(yield* details.isDegraded("cheap"))
    }))

  it.scoped("a model still slow is tried a few times, one at a time, then stays behind", () =>
    Effect.gen(function*() {
      const { call, first, outage } = yield* setup()
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
      const { first, outage } = yield* setup()
      yield* outage
      assert.strictEqual(yield* first(), "cheap")
      assert.strictEqual(yield* first(), "dear")
      yield* TestClock.adjust(trialTimeoutMs - 1)
      assert.strictEqual(yield* first(), "dear")
      yield* TestClock.adjust(1)
      assert.strictEqual(yield* first(), "cheap")
    }))

  it.scoped("a request naming another model claims no trial of its fallback (it calls the model it names)", () =>
    Effect.gen(function*() {
      const { first, outage } = yield* setup()
      yield* outage
      // a request naming dear, with cheap as its fallback: cheap ranks first, but the request calls dear
      assert.strictEqual(yield* first(false, ["dear", "cheap"]), "cheap")
      // so cheap's trial is still to be had by the next `auto` request
      assert.strictEqual(yield* first(), "cheap")
      assert.strictEqual(yield* first(), "dear")
    }))

  it.scoped("a ranking the host's optimizer changes claims the trial of the model it puts first, not of the one it vetoed", () =>
    Effect.gen(function*() {
      // the host keeps team "batch" off cheap
      const { first, outage } = yield* setup({
        review: (input, ranking) =>
          Effect.succeed(input.requirements.agentType === "batch" ? { ...ranking, ranked: ranking.ranked.filter((s) => s.model.id !== "cheap") } : ranking)
      })
      yield* outage
      assert.strictEqual(yield* first(false, undefined, "batch"), "dear")
      assert.strictEqual(yield* first(), "cheap")
      assert.strictEqual(yield* first(), "dear")
    }))

  it.scoped("the dry run explains the benefit of the doubt, and the neutral score while a trial call is in flight", () =>
    Effect.gen(function*() {
      const { first, outage, performanceLine } = yield* setup()
      yield* outage
      assert.match(yield* performanceLine("cheap"), /^performance 0\.\d\d: no recent data \(the best measured candidate's 0\.\d\d\)$/)
      assert.strictEqual(yield* first(), "cheap")
      assert.strictEqual(yield* performanceLine("cheap"), "performance 0.50: no recent data (neutral 0.50 while a trial call of it is in flight)")
    }))
})
