import { assert, describe, it } from "@effect/vitest"
import { StoreError } from "@modelgate/domain/Errors"
import type { GatewayEvent } from "@modelgate/domain/Events"
import { RateLimitInfo } from "@modelgate/domain/RateLimitInfo"
import type { RateLimitEventRecord } from "@modelgate/domain/Records"
import { Context, Effect, Layer, Ref, Stream, TestClock } from "effect"
import * as Events from "../src/Events.js"
import * as GatewayConfig from "../src/GatewayConfig.js"
import { defaultConfig, GatewayConfigData, RateLimitConfig } from "../src/GatewayConfigSchema.js"
import { RateLimiter } from "../src/RateLimiter.js"
import * as RateLimiterModule from "../src/RateLimiter.js"
import { LimiterStore } from "../src/RateLimiter/LimiterStore.js"
import * as LimiterStoreModule from "../src/RateLimiter/LimiterStore.js"
import { MemoryRecords } from "../src/RecordSink.js"
import * as RecordSink from "../src/RecordSink.js"
import { limitedModel } from "./TestModels.js"

const config = (warningThreshold = 0.9, windowMs = 60_000) =>
  new GatewayConfigData({ ...defaultConfig, rateLimits: RateLimitConfig.make({ warningThreshold, windowMs }) })

/** Every published event, in order. */
class Published extends Context.Tag("test/Published")<Published, Ref.Ref<ReadonlyArray<GatewayEvent>>>() {}

/** An event bus double that keeps what was published. */
const recordingEvents = Layer.effectContext(
  Effect.map(Ref.make<ReadonlyArray<GatewayEvent>>([]), (ref) =>
    Context.make(Events.Events, { publish: (e) => Ref.update(ref, (all) => [...all, e]), subscribe: Stream.empty }).pipe(
      Context.add(Published, ref)
    )
  )
)

const testLayer = (cfg = config()) =>
  RateLimiterModule.layer.pipe(
    Layer.provideMerge(
      Layer.mergeAll(GatewayConfig.layerStatic(cfg), RecordSink.layerMemory, recordingEvents, LimiterStoreModule.layerMemory)
    )
  )

const records = (kind: RateLimitEventRecord["kind"]) =>
  Effect.map(MemoryRecords, (m) => m.all).pipe(
    Effect.flatten,
    Effect.map((all) => all.filter((r): r is RateLimitEventRecord => r._tag === "RateLimitEventRecord" && r.kind === kind))
  )

describe("RateLimiter", () => {
  it.effect("admits rpm requests, refuses the next with the time until the oldest bucket leaves the window", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter
      const m = limitedModel(3, 1_000_000)
      yield* TestClock.adjust("500 millis")
      for (let i = 0; i < 3; i++) yield* limiter.reserve(m, 10)
      yield* TestClock.adjust("29500 millis")
      const refused = yield* Effect.flip(limiter.reserve(m, 10))
      assert.strictEqual(refused._tag, "RateLimitExceeded")
      assert.strictEqual(refused.dimension, "requests")
      // bucket [0 s, 1 s) stops counting at 61 s: conservative by at most one bucket
      assert.strictEqual(refused.retryAfterMs, 31_000)
      assert.strictEqual(yield* RateLimiterModule.timeUntilReset(m, 10), 31_000)
      yield* TestClock.adjust("30999 millis")
      assert.isFalse((yield* limiter.headroom(m, 10)).fits)
      yield* TestClock.adjust("1 millis")
      const room = yield* limiter.headroom(m, 10)
      assert.isTrue(room.fits)
      assert.strictEqual(room.requestsUsed, 0)
      yield* limiter.reserve(m, 10)
    }).pipe(Effect.provide(testLayer())))

  it.effect("refuses on tokens with the time until enough tokens leave the window", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter
      const m = limitedModel(100, 1_000)
      yield* limiter.reserve(m, 600)
      yield* TestClock.adjust("10 seconds")
      yield* limiter.reserve(m, 300)
      yield* TestClock.adjust("10 seconds")
      const refused = yield* Effect.flip(limiter.reserve(m, 200))
      assert.strictEqual(refused.dimension, "tokens")
      // 600 tokens from bucket 0 leave at 61 s
      assert.strictEqual(refused.retryAfterMs, 41_000)
      const small = yield* limiter.reserve(m, 100)
      assert.strictEqual(small.tokens, 100)
      const tooBig = yield* Effect.flip(limiter.reserve(m, 5_000))
      assert.strictEqual(tooBig.dimension, "tokens")
    }).pipe(Effect.provide(testLayer())))

  it.effect("warns once per window at the threshold, with an event and a record", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter
      const m = limitedModel(10, 1_000_000)
      for (let i = 0; i < 8; i++) yield* limiter.reserve(m, 1)
      assert.lengthOf(yield* records("warning"), 0)
      yield* limiter.reserve(m, 1)
      yield* limiter.reserve(m, 1)
      const first = yield* records("warning")
      assert.lengthOf(first, 1)
      assert.strictEqual(first[0]!.dimension, "requests")
      yield* TestClock.adjust("61 seconds")
      for (let i = 0; i < 8; i++) yield* limiter.reserve(m, 1)
      assert.lengthOf(yield* records("warning"), 1)
      yield* limiter.reserve(m, 1)
      assert.lengthOf(yield* records("warning"), 2)
      const published = yield* Ref.get(yield* Published)
      const warnings = published.filter((e): e is Extract<GatewayEvent, { _tag: "RateLimitWarning" }> => e._tag === "RateLimitWarning")
      assert.deepStrictEqual(
        warnings.map((w) => [w.dimension, w.used, w.limit, w.at]),
        [
          ["requests", 9, 10, 0],
          ["requests", 9, 10, 61_000]
        ]
      )
    }).pipe(Effect.provide(testLayer())))

  it.effect("publishes RateLimited once when the limit is reached and WindowReset when there is room again", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter
      const m = limitedModel(2, 1_000_000)
      yield* limiter.reserve(m, 1)
      yield* limiter.reserve(m, 1)
      yield* Effect.flip(limiter.reserve(m, 1))
      yield* Effect.flip(limiter.reserve(m, 1))
      const limited = yield* records("limited")
      assert.lengthOf(limited, 1)
      assert.strictEqual(limited[0]!.dimension, "requests")
      yield* TestClock.adjust("30 seconds")
      assert.isFalse((yield* limiter.headroom(m, 1)).fits)
      assert.lengthOf(yield* records("reset"), 0)
      yield* TestClock.adjust("31 seconds")
      assert.isTrue((yield* limiter.headroom(m, 1)).fits)
      const reset = yield* records("reset")
      assert.lengthOf(reset, 1)
      assert.strictEqual(reset[0]!.at, 61_000)
      yield* limiter.headroom(m, 1)
      assert.lengthOf(yield* records("reset"), 1)
      const published = yield* Ref.get(yield* Published)
      assert.deepStrictEqual(
        published.filter((e) => e._tag !== "RateLimitWarning").map((e) => [e._tag, e.at]),
        [
          ["RateLimited", 0],
          ["WindowReset", 61_000]
        ]
      )
    }).pipe(Effect.provide(testLayer())))

  it.effect("believes the provider's 0 remaining until its reset, and never loosens", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter
      const m = limitedModel(100, 100_000)
      yield* limiter.observe(m, RateLimitInfo.make({ remainingRequests: 5, resetRequestsMs: 1_000 }))
      yield* limiter.reserve(m, 1)
      yield* limiter.observe(m, RateLimitInfo.make({ remainingTokens: 0, resetTokensMs: 10_000 }))
      const refused = yield* Effect.flip(limiter.reserve(m, 1))
      assert.strictEqual(refused.dimension, "provider")
      assert.strictEqual(refused.retryAfterMs, 10_000)
      yield* limiter.observe(m, RateLimitInfo.make({ remainingRequests: 0, resetRequestsMs: 2_000 }))
      yield* TestClock.adjust("5 seconds")
      assert.strictEqual((yield* Effect.flip(limiter.reserve(m, 1))).retryAfterMs, 5_000)
      yield* TestClock.adjust("5 seconds")
      yield* limiter.reserve(m, 1)
      const limited = yield* records("limited")
      assert.deepStrictEqual(limited.map((r) => r.dimension), ["provider"])
      assert.lengthOf(yield* records("reset"), 1)
    }).pipe(Effect.provide(testLayer())))

  it.effect("believes the provider's low remaining counts: no more is sent on the key before their reset than it said was left (calls in flight count), then the window's own limits again", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter
      const m = limitedModel(100, 1_000_000)
      // OpenAI says 3 requests of 100 are left on key #1 for the next 30 s
      yield* limiter.observe(m, RateLimitInfo.make({ limitRequests: 100, remainingRequests: 3, resetRequestsMs: 30_000 }), "openai#1")
      for (let i = 0; i < 3; i++) yield* limiter.reserve(m, 1, "openai#1")
      const refused = yield* Effect.flip(limiter.reserve(m, 1, "openai#1"))
      assert.strictEqual(refused.dimension, "provider")
      assert.strictEqual(refused.retryAfterMs, 30_000)
      assert.isFalse((yield* limiter.headroom(m, 1, "openai#1")).fits)
      // another key is not concerned
      const inFlight = [] as Array<RateLimiterModule.Reservation>
      for (let i = 0; i < 5; i++) inFlight.push(yield* limiter.reserve(m, 1, "openai#2"))
      // 7 left on key #2 while 5 calls on it are still on their way: only 2 more may go
      yield* limiter.observe(m, RateLimitInfo.make({ limitRequests: 100, remainingRequests: 7, resetRequestsMs: 20_000 }), "openai#2")
      for (let i = 0; i < 2; i++) yield* limiter.reserve(m, 1, "openai#2")
      assert.strictEqual((yield* Effect.flip(limiter.reserve(m, 1, "openai#2"))).dimension, "provider")
      // tokens: 5 000 of 1 000 000 left for 6 s on the keyless model
      const n = limitedModel(100, 1_000_000, "m2")
      yield* limiter.observe(n, RateLimitInfo.make({ limitTokens: 1_000_000, remainingTokens: 5_000, resetTokensMs: 6_000 }))
      yield* limiter.reserve(n, 4_000)
      const tokens = yield* Effect.flip(limiter.reserve(n, 2_000))
      assert.strictEqual(tokens.dimension, "provider")
      assert.strictEqual(tokens.retryAfterMs, 6_000)
      // after the resets, the window's own limits alone
      yield* TestClock.adjust("30 seconds")
      yield* limiter.reserve(n, 2_000)
      for (let i = 0; i < 10; i++) yield* limiter.reserve(m, 1, "openai#1")
      for (let i = 0; i < 10; i++) yield* limiter.reserve(m, 1, "openai#2")
    }).pipe(Effect.provide(testLayer())))

  it.effect("limits per key: a provider block on one key leaves other keys and the model usable", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter
      const m = limitedModel(3, 100_000)
      yield* limiter.observe(m, RateLimitInfo.make({ remainingRequests: 0, resetRequestsMs: 30_000 }), "openai#1")
      const refused = yield* Effect.flip(limiter.reserve(m, 1, "openai#1"))
      assert.strictEqual(refused.dimension, "provider")
      assert.isFalse((yield* limiter.headroom(m, 1, "openai#1")).fits)
      assert.isTrue((yield* limiter.headroom(m, 1, "openai#2")).fits)
      const onKey2 = yield* limiter.reserve(m, 1, "openai#2")
      assert.strictEqual(onKey2.keyId, "openai#2")
      yield* limiter.reserve(m, 1)
      // the model's own window counts traffic on every key: 2 used of 3
      assert.strictEqual((yield* limiter.headroom(m, 1)).requestsUsed, 2)
      yield* limiter.reserve(m, 1, "openai#2")
      assert.strictEqual((yield* Effect.flip(limiter.reserve(m, 1, "openai#3"))).dimension, "requests")
      // the refused keyed attempt left nothing behind on its key
      const key3 = yield* (yield* LimiterStore).snapshot("m1@openai#3")
      assert.strictEqual(key3!.requests.reduce((a, b) => a + b, 0), 0)
      yield* TestClock.adjust("30 seconds")
      yield* limiter.release(onKey2)
      yield* limiter.reserve(m, 1, "openai#1")
    }).pipe(Effect.provide(testLayer())))

  it.effect("release gives back the request and its tokens once; settle refunds or charges once", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter
      const m = limitedModel(2, 1_000)
      const a = yield* limiter.reserve(m, 400)
      const b = yield* limiter.reserve(m, 400)
      yield* limiter.release(a)
      yield* limiter.release(a)
      let room = yield* limiter.headroom(m, 0)
      assert.deepStrictEqual([room.requestsUsed, room.tokensUsed], [1, 400])
      yield* limiter.settle(b, 100)
      yield* limiter.settle(b, 900)
      yield* limiter.release(b)
      room = yield* limiter.headroom(m, 0)
      assert.deepStrictEqual([room.requestsUsed, room.tokensUsed], [1, 100])
      const c = yield* limiter.reserve(m, 100)
      yield* limiter.settle(c, 700)
      room = yield* limiter.headroom(m, 0)
      assert.deepStrictEqual([room.requestsUsed, room.tokensUsed], [2, 800])
      assert.isFalse((yield* limiter.headroom(m, 300)).fits)
      yield* limiter.settle(c, -50)
      assert.strictEqual((yield* limiter.headroom(m, 0)).tokensUsed, 800)
    }).pipe(Effect.provide(testLayer())))

  it.effect("keeps bounded state per model whatever the traffic", () =>
    Effect.gen(function* () {
      const store = yield* LimiterStore
      const limits = { rpm: 1_000, tpm: 10_000_000 }
      let admitted = 0
      for (let i = 0; i < 100_000; i++) {
        const outcome = yield* store.apply("m1", i * 7, 60_000, { _tag: "Reserve", id: `r${i}`, tokens: 10, limits, warnAt: undefined })
        if (outcome.ok) admitted++
      }
      const state = yield* store.snapshot("m1")
      assert.isDefined(state)
      assert.lengthOf(state!.epochs, 61)
      assert.lengthOf(state!.requests, 61)
      assert.lengthOf(state!.open, 61)
      const open = state!.open.reduce((n, slot) => n + slot.size, 0)
      assert.isAtMost(open, 1_000)
      assert.isAtLeast(open, 900)
      // 700 s of traffic: about 1,000 per window admitted (refusals at most one bucket early)
      assert.isAtLeast(admitted, 11_000)
      assert.isAtMost(admitted, 12_000)
    }).pipe(Effect.provide(LimiterStoreModule.layerMemory)))

  it.effect("a failing store is treated as room, not as an outage", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter
      const m = limitedModel(1, 10)
      yield* limiter.reserve(m, 5)
      const second = yield* limiter.reserve(m, 5)
      yield* limiter.settle(second, 3)
      assert.isTrue((yield* limiter.headroom(m, 100)).fits)
    }).pipe(
      Effect.provide(
        RateLimiterModule.layer.pipe(
          Layer.provide(
            Layer.mergeAll(
              GatewayConfig.layerStatic(config()),
              RecordSink.layerMemory,
              recordingEvents,
              Layer.succeed(LimiterStore, {
                apply: () => Effect.fail(new StoreError({ operation: "apply", reason: "connection refused" })),
                snapshot: () => Effect.fail(new StoreError({ operation: "snapshot", reason: "connection refused" }))
              })
            )
          )
        )
      )
    ))

  it.effect("reads the window length from the configuration", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter
      const m = limitedModel(1, 1_000)
      yield* limiter.reserve(m, 1)
      const refused = yield* Effect.flip(limiter.reserve(m, 1))
      assert.strictEqual(refused.retryAfterMs, 6_000 + 100)
      yield* TestClock.adjust("6100 millis")
      yield* limiter.reserve(m, 1)
    }).pipe(Effect.provide(testLayer(config(0.9, 6_000)))))
})
