import { assert, describe, it } from "@effect/vitest"
import { Events } from "@modelgate/core/Events"
import * as GatewayConfig from "@modelgate/core/GatewayConfig"
import { GatewayConfigData } from "@modelgate/core/GatewayConfigSchema"
import * as PerformanceMonitor from "@modelgate/core/PerformanceMonitor"
import * as RecordSink from "@modelgate/core/RecordSink"
import type { GatewayEvent } from "@modelgate/domain/Events"
import { PerformanceRecord } from "@modelgate/domain/Records"
import { Clock, Context, Effect, Layer, Ref, Schema, Stream, TestClock } from "effect"

/** A baseline, then slow and failing calls, then recovery: figures, transitions and records. */
const scenario = (useAt: boolean) =>
  Effect.gen(function*() {
    const published = yield* Ref.make<ReadonlyArray<GatewayEvent>>([])
    const events = Layer.succeed(Events, Events.of({ publish: (e) => Ref.update(published, (all) => [...all, e]), subscribe: Stream.empty }))
    const config = Schema.decodeUnknownSync(GatewayConfigData)({ performance: { recentWindowMs: 60_000, baselineWindowMs: 3_600_000 } })
    const context = yield* Layer.build(
      PerformanceMonitor.layer.pipe(Layer.provideMerge(RecordSink.layerMemory), Layer.provide(events), Layer.provide(GatewayConfig.layerStatic(config)))
    )
    const monitor = Context.get(context, PerformanceMonitor.PerformanceMonitor)
    const start = yield* Clock.currentTimeMillis
    const call = (latencyMs: number, success = true, cacheHit = false) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const record = PerformanceRecord.make({
          at: now, requestId: `r${now}`, model: "m", provider: "openai", latencyMs, success, outputTokens: 10, streamed: false, cacheHit,
          ...(success ? {} : { errorClass: "ServerError" })
        })
        return useAt ? monitor.recordAt!(config, now, record) : monitor.record(record)
      })
    for (let i = 0; i < 20; i++) {
      yield* call(100)
      yield* TestClock.adjust(60_000)
    }
    yield* TestClock.adjust(120_000)
    for (let i = 0; i < 6; i++) yield* call(500, i % 2 === 0)
    yield* call(1, true, true)
    const during = yield* monitor.modelPerformance("m")
    yield* TestClock.adjust(61_000)
    for (let i = 0; i < 6; i++) yield* call(110)
    const after = yield* monitor.modelPerformances!(["m", "none"])
    return {
      during,
      after,
      events: (yield* Ref.get(published)).map((e) => JSON.stringify({ ...e, at: e.at - start })),
      records: (yield* Context.get(context, RecordSink.MemoryRecords).all).length
    }
  })

describe("PerformanceMonitor.recordAt", () => {
  it.scoped("on the caller's config and time records, judges and publishes as record does", () =>
    Effect.gen(function*() {
      const plain = yield* scenario(false)
      const at = yield* scenario(true)
      assert.deepStrictEqual(at, plain)
      assert.isTrue(plain.events.some((e) => e.includes("PerformanceDegraded")))
      assert.isTrue(plain.events.some((e) => e.includes("PerformanceRecovered")))
      assert.strictEqual(plain.records, 33)
    }))
})
