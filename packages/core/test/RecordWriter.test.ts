import { assert, describe, it } from "@effect/vitest"
import { StoreError } from "@modelgate/domain/Errors"
import type { GatewayEvent } from "@modelgate/domain/Events"
import { PerformanceRecord } from "@modelgate/domain/Records"
import { Context, Effect, Exit, Fiber, Layer, Option, Ref, Scope, Stream, TestClock } from "effect"
import { Events } from "@modelgate/core/Events"
import * as GatewayConfig from "@modelgate/core/GatewayConfig"
import { defaultConfig, GatewayConfigData, RecordsConfig } from "@modelgate/core/GatewayConfigSchema"
import { Metrics } from "@modelgate/core/Metrics"
import { RecordSink } from "@modelgate/core/RecordSink"
import * as RecordStore from "@modelgate/core/RecordStore"
import { RecordWriter } from "@modelgate/core/RecordWriter"
import * as AccountingMemory from "@modelgate/core/RecordWriter/Memory"
import { cost, health } from "./RecordFixtures.js"

const perf = (i: number) =>
  PerformanceRecord.make({
    at: i,
    requestId: `r${i}`,
    model: "m1",
    provider: "p1",
    latencyMs: 100,
    success: true,
    outputTokens: 5,
    streamed: false,
    cacheHit: false
  })

const configWith = (records: Partial<typeof RecordsConfig.Type>) =>
  new GatewayConfigData({ ...defaultConfig, records: RecordsConfig.make({ ...defaultConfig.records, ...records }) })

/** A capturing event bus. */
const capturingEvents = Effect.gen(function* () {
  const published = yield* Ref.make<ReadonlyArray<GatewayEvent>>([])
  const events = Events.of({ publish: (e) => Ref.update(published, (all) => [...all, e]), subscribe: Stream.empty })
  return { published, events }
})

/** The memory store lives in the test; the writer in `scope`, which the test closes. */
const setup = (records: Partial<typeof RecordsConfig.Type>, broken?: Ref.Ref<boolean>) =>
  Effect.gen(function* () {
    const storeLayer =
      broken === undefined
        ? RecordStore.layerMemory
        : RecordStore.layerMemoryFailing(
            Effect.flatMap(Ref.get(broken), (b) =>
              b ? Effect.fail(new StoreError({ operation: "write", reason: "disk full" })) : Effect.void
            )
          )
    const storeCtx = yield* Layer.build(storeLayer)
    const { events, published } = yield* capturingEvents
    const scope = yield* Scope.make()
    const ctx = yield* Layer.buildWithScope(
      AccountingMemory.layerOver(Layer.succeedContext(storeCtx)).pipe(
        Layer.provide(Layer.succeed(Events, events)),
        Layer.provide(GatewayConfig.layerStatic(configWith(records)))
      ),
      scope
    )
    const memory = Context.get(storeCtx, RecordStore.MemoryRecordStore)
    return {
      scope,
      sink: Context.get(ctx, RecordSink),
      writer: Context.get(ctx, RecordWriter),
      metrics: Context.get(ctx, Metrics),
      stored: memory.all,
      batches: memory.batches,
      published
    }
  })

describe("RecordWriter", () => {
  it.scoped("writes queued records in one batch after the flush interval, not before", () =>
    Effect.gen(function* () {
      const t = yield* setup({ flushIntervalMs: 250, batchSize: 500 })
      yield* Effect.forEach([cost(1), health(2), perf(3)], t.sink.offer)
      assert.strictEqual((yield* t.stored).length, 0)
      yield* TestClock.adjust("249 millis")
      assert.strictEqual((yield* t.stored).length, 0)
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual((yield* t.stored).map((r) => r.at).sort(), [1, 2, 3])
      assert.strictEqual(yield* t.batches, 1)
    }))

  it.scoped("flushes as soon as batchSize records wait, without waiting for the interval", () =>
    Effect.gen(function* () {
      const t = yield* setup({ flushIntervalMs: 60_000, batchSize: 4 })
      yield* Effect.forEach([1, 2, 3, 4], (i) => t.sink.offer(cost(i)))
      yield* TestClock.adjust("1 millis")
      assert.strictEqual((yield* t.stored).length, 4)
    }))

  it.scoped("full batches go at once; a smaller remainder waits for its own interval", () =>
    Effect.gen(function* () {
      const t = yield* setup({ flushIntervalMs: 1_000, batchSize: 10 })
      yield* Effect.forEach(Array.from({ length: 25 }, (_, i) => i), (i) => t.sink.offer(cost(i)))
      yield* TestClock.adjust("1 millis")
      assert.strictEqual((yield* t.stored).length, 20)
      assert.strictEqual(yield* t.batches, 2)
      yield* TestClock.adjust("998 millis")
      assert.strictEqual((yield* t.stored).length, 20, "the remainder of 5 is not due yet")
      yield* TestClock.adjust("1 millis")
      assert.strictEqual((yield* t.stored).length, 25)
      assert.strictEqual(yield* t.batches, 3)
    }))

  it.scoped("closing the scope drains and writes every queued record (graceful stop loses nothing)", () =>
    Effect.gen(function* () {
      const t = yield* setup({ flushIntervalMs: 60_000, batchSize: 100, queueCapacity: 10_000 })
      yield* Effect.forEach(Array.from({ length: 1_000 }, (_, i) => i), (i) =>
        t.sink.offer(i % 2 === 0 ? cost(i) : perf(i))
      )
      yield* Scope.close(t.scope, Exit.void)
      const stored = yield* t.stored
      assert.strictEqual(stored.length, 1_000)
      assert.strictEqual(new Set(stored.map((r) => r.at)).size, 1_000)
    }))

  it.scoped("a full queue drops the oldest non-cost records and counts them", () =>
    Effect.gen(function* () {
      const t = yield* setup({ flushIntervalMs: 60_000, batchSize: 100, queueCapacity: 3 })
      yield* Effect.forEach([1, 2, 3, 4, 5], (i) => t.sink.offer(health(i)))
      assert.strictEqual((yield* t.writer.stats).dropped, 2)
      yield* Scope.close(t.scope, Exit.void)
      assert.deepStrictEqual((yield* t.stored).map((r) => r.at), [3, 4, 5])
    }))

  it.scoped("a full queue makes cost records wait (back-pressure): none is lost", () =>
    Effect.gen(function* () {
      const t = yield* setup({ flushIntervalMs: 1_000, batchSize: 100, queueCapacity: 2 })
      const offering = yield* Effect.fork(Effect.forEach([1, 2, 3], (i) => t.sink.offer(cost(i))))
      yield* TestClock.adjust("1 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(offering)), "the third cost record waits for room")
      assert.strictEqual((yield* t.stored).length, 0)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(offering)
      yield* Scope.close(t.scope, Exit.void)
      assert.deepStrictEqual((yield* t.stored).map((r) => r.at), [1, 2, 3])
    }))

  it.scoped("a failing store is retried, reported as degraded once, and recovers without losing records", () =>
    Effect.gen(function* () {
      const broken = yield* Ref.make(true)
      const t = yield* setup({ flushIntervalMs: 250, batchSize: 500 }, broken)
      yield* t.sink.offer(cost(1))
      yield* TestClock.adjust("250 millis")
      yield* TestClock.adjust("5 seconds")
      // still serving: offers return while the store is down
      yield* t.sink.offer(cost(2))
      assert.strictEqual((yield* t.stored).length, 0)
      assert.isTrue((yield* t.writer.stats).degraded)
      const entered = (yield* Ref.get(t.published)).filter((e) => e._tag === "DegradedModeEntered")
      assert.strictEqual(entered.length, 1)
      assert.strictEqual(entered[0]?._tag === "DegradedModeEntered" ? entered[0].component : "", "records")

      yield* Ref.set(broken, false)
      yield* TestClock.adjust("1 minute")
      assert.deepStrictEqual((yield* t.stored).map((r) => r.at), [1, 2])
      const tags = (yield* Ref.get(t.published)).map((e) => e._tag)
      assert.deepStrictEqual(tags, ["DegradedModeEntered", "DegradedModeLeft"])
      assert.isFalse((yield* t.writer.stats).degraded)
    }))

  it.scoped("metrics see a record as soon as it is offered and count it once after it is written", () =>
    Effect.gen(function* () {
      const t = yield* setup({ flushIntervalMs: 250, batchSize: 500 })
      yield* t.sink.offer(perf(1))
      assert.strictEqual((yield* t.metrics.live).totals.requests, 1)
      assert.strictEqual((yield* t.metrics.query({})).totals.requests, 1)
      yield* TestClock.adjust("250 millis")
      assert.strictEqual((yield* t.stored).length, 1)
      assert.strictEqual((yield* t.metrics.query({})).totals.requests, 1)
    }))

  it.scoped("offerNow takes a record when called (nothing left to run): metrics see it, the drain writes it", () =>
    Effect.gen(function* () {
      const t = yield* setup({ flushIntervalMs: 60_000, batchSize: 100 })
      const offerNow = t.sink.offerNow
      assert.isDefined(offerNow)
      assert.strictEqual(offerNow!(cost(1)), Effect.void)
      assert.strictEqual(offerNow!(perf(2)), Effect.void)
      assert.strictEqual((yield* t.metrics.live).totals.requests, 1)
      yield* Scope.close(t.scope, Exit.void)
      assert.deepStrictEqual((yield* t.stored).map((r) => r.at).sort(), [1, 2])
      // After the writer closed, what is left to run writes the record directly.
      const late = offerNow!(cost(3))
      assert.notStrictEqual(late, Effect.void)
      yield* late
      assert.deepStrictEqual((yield* t.stored).map((r) => r.at).sort(), [1, 2, 3])
    }))

  it.scoped("a record offered after the writer closed is still written", () =>
    Effect.gen(function* () {
      const t = yield* setup({ flushIntervalMs: 250, batchSize: 500 })
      yield* Scope.close(t.scope, Exit.void)
      yield* t.sink.offer(cost(7))
      assert.deepStrictEqual((yield* t.stored).map((r) => r.at), [7])
    }))
})
