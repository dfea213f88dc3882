import { assert, describe, it } from "@effect/vitest"
import { Events } from "@modelgate/core/Events"
import * as GatewayConfig from "@modelgate/core/GatewayConfig"
import { GatewayConfigData } from "@modelgate/core/GatewayConfigSchema"
import * as PerformanceMonitor from "@modelgate/core/PerformanceMonitor"
import { exactQuantile, LogHistogram, relativeError } from "@modelgate/core/PerformanceMonitor/Histogram"
import * as RecordSink from "@modelgate/core/RecordSink"
import type { GatewayEvent } from "@modelgate/domain/Events"
import { PerformanceRecord } from "@modelgate/domain/Records"
import { Clock, Context, Effect, Layer, Option, Ref, Schema, Stream, TestClock } from "effect"
import * as fc from "fast-check"

/** A monitor with these `performance` settings, an event log and a memory record sink. */
const setup = (performance: Record<string, unknown> = {}) =>
  Effect.gen(function* () {
    const published = yield* Ref.make<ReadonlyArray<GatewayEvent>>([])
    const events = Layer.succeed(
      Events,
      Events.of({ publish: (e) => Ref.update(published, (all) => [...all, e]), subscribe: Stream.empty })
    )
    const config = Schema.decodeUnknownSync(GatewayConfigData)({ performance })
    const layer = PerformanceMonitor.layer.pipe(
      Layer.provideMerge(RecordSink.layerMemory),
      Layer.provide(events),
      Layer.provide(GatewayConfig.layerStatic(config))
    )
    const context = yield* Layer.build(layer)
    const monitor = Context.get(context, PerformanceMonitor.PerformanceMonitor)
    /** Record one call made now. */
    const call = (
      latencyMs: number,
      extra: Partial<ConstructorParameters<typeof PerformanceRecord>[0]> = {}
    ) =>
      Effect.flatMap(Clock.currentTimeMillis, (at) =>
        monitor.record(
          PerformanceRecord.make({
            at,
            requestId: `r${at}`,
            model: "gpt-4o-mini",
            provider: "openai",
            latencyMs,
            success: true,
            outputTokens: 0,
            streamed: false,
            cacheHit: false,
            ...extra
          })
        )
      )
    return {
      monitor,
      call,
      details: Context.get(context, PerformanceMonitor.PerformanceDetails),
      records: Context.get(context, RecordSink.MemoryRecords).all,
      published: Ref.get(published)
    }
  })

const degradations = (events: ReadonlyArray<GatewayEvent>) =>
  events.flatMap((e) =>
    e._tag === "PerformanceDegraded" || e._tag === "PerformanceRecovered" ? [`${e._tag}:${e.metric}`] : []
  )

/** A baseline of 20 calls of 100 ms a minute apart, then two quiet minutes (it is out of a 60 s recent window). */
const baselineOf100ms = (call: (latencyMs: number) => Effect.Effect<void>) =>
  Effect.gen(function* () {
    for (let i = 0; i < 20; i++) {
      yield* call(100)
      yield* TestClock.adjust(60_000)
    }
    yield* TestClock.adjust(120_000)
  })

describe("PerformanceMonitor", () => {
  it.scoped("has no figures for a model without calls", () =>
    Effect.gen(function* () {
      const { monitor } = yield* setup()
      assert.isTrue(Option.isNone(yield* monitor.modelPerformance("gpt-4o-mini")))
    }))

  it.scoped("reports exact percentiles, success rate, errors by class, tokens/s and TTFT over the recent window", () =>
    Effect.gen(function* () {
      const { call, monitor, records } = yield* setup()
      for (let i = 1; i <= 10; i++) {
        yield* call(i * 100, { outputTokens: 50, streamed: true, timeToFirstTokenMs: i * 10 })
        yield* TestClock.adjust(1)
      }
      yield* call(30_000, { success: false, errorClass: "Timeout" })
      yield* call(5, { success: false, errorClass: "RateLimited" })
      yield* call(7, { success: false, errorClass: "RateLimited" })
      const perf = Option.getOrThrow(yield* monitor.modelPerformance("gpt-4o-mini"))
      assert.strictEqual(perf.requests, 13)
      assert.closeTo(perf.successRate, 10 / 13, 1e-12)
      assert.strictEqual(perf.latencyP50Ms, 500)
      assert.strictEqual(perf.latencyP95Ms, 1_000)
      assert.strictEqual(perf.latencyP99Ms, 1_000)
      assert.strictEqual(perf.ttftP50Ms, 50)
      assert.closeTo(perf.tokensPerSecond!, (10 * 50) / 5.5, 1e-9)
      assert.deepStrictEqual(perf.errorsByClass, { Timeout: 1, RateLimited: 2 })
      assert.strictEqual((yield* records).length, 13, "every call offered to the RecordSink")
    }))

  it.scoped("keeps only the last recentRequests calls, and only those within recentWindowMs", () =>
    Effect.gen(function* () {
      const { call, monitor } = yield* setup({ recentRequests: 5, recentWindowMs: 60_000 })
      for (let i = 1; i <= 8; i++) yield* call(i * 100)
      const perf = Option.getOrThrow(yield* monitor.modelPerformance("gpt-4o-mini"))
      assert.strictEqual(perf.requests, 5)
      assert.strictEqual(perf.latencyP50Ms, 600)
      yield* TestClock.adjust(59_999)
      assert.isTrue(Option.isSome(yield* monitor.modelPerformance("gpt-4o-mini")))
      yield* TestClock.adjust(1)
      assert.isTrue(Option.isNone(yield* monitor.modelPerformance("gpt-4o-mini")))
    }))

  it.scoped("records cache hits but leaves them out of the model's figures", () =>
    Effect.gen(function* () {
      const { call, monitor, records } = yield* setup()
      yield* call(1, { cacheHit: true })
      assert.isTrue(Option.isNone(yield* monitor.modelPerformance("gpt-4o-mini")))
      assert.strictEqual((yield* records).length, 1)
    }))

  it.scoped("records failures that are the request's or the client's fault but leaves them out of the model's figures", () =>
    Effect.gen(function* () {
      const { call, monitor, records } = yield* setup()
      yield* call(100)
      for (const errorClass of ["BadRequest", "ContextLengthExceeded", "ContentFiltered", "Unauthorized", "Interrupted"]) {
        yield* call(50, { success: false, errorClass })
      }
      yield* call(300, { success: false, errorClass: "ServerError" })
      const perf = Option.getOrThrow(yield* monitor.modelPerformance("gpt-4o-mini"))
      assert.deepInclude(perf, { requests: 2, successRate: 0.5, latencyP50Ms: 100, errorsByClass: { ServerError: 1 } })
      assert.strictEqual((yield* records).length, 7, "every call offered to the RecordSink")
    }))

  it.scoped("bad requests from clients never make a model's error rate degraded", () =>
    Effect.gen(function* () {
      const { call, details, published } = yield* setup({ recentWindowMs: 60_000, errorRateDegradation: 0.2 })
      for (let i = 0; i < 20; i++) {
        yield* call(100)
        yield* TestClock.adjust(60_000)
      }
      yield* TestClock.adjust(120_000)
      for (let i = 0; i < 5; i++) yield* call(100)
      for (let i = 0; i < 5; i++) yield* call(5, { success: false, errorClass: "BadRequest" })
      assert.deepStrictEqual(degradations(yield* published), [])
      assert.isFalse(yield* details.isDegraded("gpt-4o-mini"))
    }))

  it.scoped("publishes PerformanceDegraded once when recent latency exceeds the baseline, and PerformanceRecovered once", () =>
    Effect.gen(function* () {
      const { call, details, published } = yield* setup({ recentWindowMs: 60_000, baselineWindowMs: 3_600_000, latencyDegradationFactor: 2 })
      for (let i = 0; i < 20; i++) {
        yield* call(100)
        yield* TestClock.adjust(60_000)
      }
      yield* TestClock.adjust(120_000)
      for (let i = 0; i < 4; i++) yield* call(500)
      assert.deepStrictEqual(degradations(yield* published), [], "not judged on fewer than 5 recent calls")
      yield* call(500)
      yield* call(500)
      assert.deepStrictEqual(degradations(yield* published), ["PerformanceDegraded:latency"])
      const event = (yield* published).find((e) => e._tag === "PerformanceDegraded")
      assert.deepInclude(event, { model: "gpt-4o-mini", baseline: 100, recent: 500 })
      assert.isTrue(yield* details.isDegraded("gpt-4o-mini"))

      yield* TestClock.adjust(61_000)
      for (let i = 0; i < 6; i++) yield* call(110)
      assert.deepStrictEqual(degradations(yield* published), ["PerformanceDegraded:latency", "PerformanceRecovered:latency"])
      assert.isFalse(yield* details.isDegraded("gpt-4o-mini"))
    }))

  it.scoped("one cold-start outlier among few recent calls is not a latency degradation; a slow tail over 20 calls is", () =>
    Effect.gen(function* () {
      const { call, details, published } = yield* setup({ recentWindowMs: 60_000, latencyDegradationFactor: 2 })
      yield* baselineOf100ms(call)
      // After a quiet spell the first call is slow (a cold start), the others as usual: with fewer
      // than 20 calls the nearest-rank p95 is the slowest call, which says nothing about the tail.
      yield* call(1_000)
      for (let i = 0; i < 18; i++) yield* call(100)
      assert.deepStrictEqual(degradations(yield* published), [])
      assert.isFalse(yield* details.isDegraded("gpt-4o-mini"))
      // A second slow call in 20: 10% of calls are 10x slower, the p95 is judged and it is degraded.
      yield* call(1_000)
      assert.deepStrictEqual(degradations(yield* published), ["PerformanceDegraded:latency"])
    }))

  it.scoped("a latency hovering at the threshold does not flap: one PerformanceDegraded, one PerformanceRecovered", () =>
    Effect.gen(function* () {
      const { call, published } = yield* setup({ recentWindowMs: 60_000, latencyDegradationFactor: 2 })
      yield* baselineOf100ms(call)
      // Twice the baseline, give or take 5%.
      for (let i = 0; i < 5; i++) yield* call(210)
      for (let i = 0; i < 5; i++) yield* call(190)
      for (let i = 0; i < 8; i++) yield* call(i % 2 === 0 ? 210 : 190)
      assert.deepStrictEqual(degradations(yield* published), ["PerformanceDegraded:latency"])
      yield* TestClock.adjust(61_000)
      for (let i = 0; i < 5; i++) yield* call(120)
      assert.deepStrictEqual(degradations(yield* published), ["PerformanceDegraded:latency", "PerformanceRecovered:latency"])
    }))

  it.scoped("an error rate hovering at the threshold does not flap", () =>
    Effect.gen(function* () {
      const { call, published } = yield* setup({ recentWindowMs: 60_000, recentRequests: 10, errorRateDegradation: 0.2 })
      yield* baselineOf100ms(call)
      // 2 failures in every 10 calls, the last 10 kept: the rate moves between 10% and 20%.
      for (let i = 0; i < 30; i++) yield* call(100, i % 5 === 4 ? { success: false, errorClass: "ServerError" } : {})
      assert.deepStrictEqual(degradations(yield* published), ["PerformanceDegraded:error_rate"])
    }))

  it.scoped("publishes an error-rate degradation when failures rise by errorRateDegradation", () =>
    Effect.gen(function* () {
      const { call, published } = yield* setup({ recentWindowMs: 60_000, errorRateDegradation: 0.2 })
      for (let i = 0; i < 20; i++) {
        yield* call(100)
        yield* TestClock.adjust(60_000)
      }
      yield* TestClock.adjust(120_000)
      for (let i = 0; i < 4; i++) yield* call(100)
      yield* call(100, { success: false, errorClass: "ServerError" })
      assert.deepStrictEqual(degradations(yield* published), ["PerformanceDegraded:error_rate"], "1 in 5 = +20%")
      yield* TestClock.adjust(61_000)
      for (let i = 0; i < 5; i++) yield* call(100)
      assert.deepStrictEqual(degradations(yield* published), ["PerformanceDegraded:error_rate", "PerformanceRecovered:error_rate"])
    }))

  it.scoped("does not judge without a baseline", () =>
    Effect.gen(function* () {
      const { call, published, details } = yield* setup()
      for (let i = 0; i < 50; i++) yield* call(i % 2 === 0 ? 100 : 10_000, { success: i % 3 !== 0 })
      assert.deepStrictEqual(degradations(yield* published), [])
      assert.strictEqual((yield* details.allPerformance).length, 1)
    }))
})

describe("LogHistogram", () => {
  it("quantiles are within the stated relative error of the exact nearest-rank quantile (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.01, max: 600_000, noNaN: true }), { minLength: 1, maxLength: 300 }),
        fc.constantFrom(0.5, 0.9, 0.95, 0.99, 1),
        (values, q) => {
          const histogram = new LogHistogram()
          for (const v of values) histogram.add(v)
          const exact = exactQuantile([...values].sort((a, b) => a - b), q)!
          const estimate = histogram.quantile(q)!
          assert.isAtMost(Math.abs(estimate - exact) / exact, relativeError + 1e-9)
        }
      ),
      { numRuns: 300 }
    )
  })
})
