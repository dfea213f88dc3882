/**
 * Reloads that change the limiter while traffic flows: a model's rpm / tpm
 * (registry metadata, read per call) and the window length
 * (`rateLimits.windowMs`, read per call). Requests that began before the
 * reload still hold the old configuration (the `…At` members get the
 * request's own read): their settles and peeks must neither reset the window
 * nor undo what the new one counted.
 */
import { assert, describe, it } from "@effect/vitest"
import { RateLimitInfo } from "@modelgate/domain/RateLimitInfo"
import { Clock, Effect, Layer, TestClock } from "effect"
import * as Events from "../src/Events.js"
import { GatewayConfig } from "../src/GatewayConfig.js"
import { defaultConfig, GatewayConfigData, RateLimitConfig } from "../src/GatewayConfigSchema.js"
import * as RateLimiterModule from "../src/RateLimiter.js"
import { RateLimiter } from "../src/RateLimiter.js"
import * as LimiterStore from "../src/RateLimiter/LimiterStore.js"
import * as RecordSink from "../src/RecordSink.js"
import { ConfigFiles, layerReloadable } from "./ReloadableConfig.js"
import { limitedModel } from "./TestModels.js"

const withWindow = (windowMs: number) =>
  new GatewayConfigData({ ...defaultConfig, rateLimits: RateLimitConfig.make({ warningThreshold: 0.9, windowMs }) })

const testLayer = (initial: GatewayConfigData) =>
  RateLimiterModule.layer.pipe(
    Layer.provideMerge(Layer.mergeAll(layerReloadable(initial), RecordSink.layerMemory, LimiterStore.layerMemory)),
    Layer.provide(Events.layer)
  )

/** Whether a one-token request on `model` is admitted now (under the running configuration), reserving it. */
const admitted = (model: ReturnType<typeof limitedModel>) =>
  Effect.gen(function* () {
    const limiter = yield* RateLimiter
    return (yield* Effect.either(limiter.reserve(model, 1)))._tag === "Right"
  })

describe("RateLimiter: a reload that changes the window length", () => {
  it.effect("a shorter window still counts the requests made under the longer one", () =>
    Effect.gen(function* () {
      const files = yield* ConfigFiles
      const m = limitedModel(2, 1_000_000)
      yield* TestClock.adjust("500 millis")
      assert.isTrue(yield* admitted(m))
      assert.isTrue(yield* admitted(m))
      yield* files.apply(withWindow(30_000))
      yield* TestClock.adjust("500 millis")
      // Both requests lie in the last 30 s: a third would be 3 in a window that allows 2.
      assert.isFalse(yield* admitted(m), "admitted a third request into a 30 s window of 2 rpm")
      yield* TestClock.adjust("31 seconds")
      assert.isTrue(yield* admitted(m))
    }).pipe(Effect.provide(testLayer(withWindow(60_000)))))

  it.effect("a longer window still counts the requests made under the shorter one, and the provider's block stays", () =>
    Effect.gen(function* () {
      const files = yield* ConfigFiles
      const limiter = yield* RateLimiter
      const m = limitedModel(2, 1_000_000)
      const blocked = limitedModel(100, 1_000_000, "blocked")
      assert.isTrue(yield* admitted(m))
      assert.isTrue(yield* admitted(m))
      yield* limiter.observe(blocked, RateLimitInfo.make({ remainingRequests: 0, resetRequestsMs: 100_000 }))
      yield* files.apply(withWindow(120_000))
      yield* TestClock.adjust("61 seconds")
      assert.isFalse(yield* admitted(m), "the two requests of 61 s ago are inside the 120 s window")
      assert.isFalse(yield* admitted(blocked), "the provider said 0 remaining for 100 s")
      yield* TestClock.adjust("62 seconds")
      assert.isTrue(yield* admitted(m))
      assert.isTrue(yield* admitted(blocked))
    }).pipe(Effect.provide(testLayer(withWindow(60_000)))))

  it.effect("settles and peeks of requests begun under the old window neither reset the new one nor shift its count", () =>
    Effect.gen(function* () {
      const files = yield* ConfigFiles
      const config = yield* GatewayConfig
      const limiter = yield* RateLimiter
      const m = limitedModel(2, 1_000_000)
      const old = yield* config.get
      const now = Clock.currentTimeMillis
      const fits = (c: GatewayConfigData) =>
        Effect.flatMap(now, (t) => Effect.map(Effect.either(limiter.reserveAt!(c, t, m, 1)), (e) => e._tag === "Right"))
      // Two requests in flight, begun under the 60 s window (1 s buckets).
      const a = yield* limiter.reserveAt!(old, yield* now, m, 100)
      const b = yield* limiter.reserveAt!(old, yield* now, m, 100)
      const fresh = yield* files.apply(withWindow(90_000))
      yield* TestClock.adjust("1 second")
      // The old requests end: a is settled (still counted), b failed before the provider counted it.
      yield* limiter.settleAt!(old, yield* now, a, 50)
      yield* limiter.releaseAt!(old, yield* now, b)
      // A new request under the 90 s window (1.5 s buckets) takes the place b gave back.
      assert.isTrue(yield* fits(fresh))
      // A request queued since before the reload re-ranks every second under the old configuration.
      for (let i = 0; i < 30; i++) {
        yield* limiter.headroomAllAt!(old, yield* now, [{ model: m, estimatedTokens: 1 }])
        yield* TestClock.adjust("1 second")
      }
      const room = yield* limiter.headroomAllAt!(fresh, yield* now, [{ model: m, estimatedTokens: 1 }])
      assert.strictEqual(room[0]!.requestsUsed, 2)
      assert.strictEqual(room[0]!.tokensUsed, 51)
      assert.isFalse(yield* fits(fresh), "a third request in a window of 2 rpm")
      // Nothing was shifted later: both requests leave the 90 s window with their 1.5 s bucket, at 91.5 s.
      yield* TestClock.setTime(91_499)
      assert.isFalse(yield* fits(fresh))
      yield* TestClock.setTime(91_500)
      assert.isTrue(yield* fits(fresh))
      assert.isTrue(yield* fits(fresh))
    }).pipe(Effect.provide(testLayer(withWindow(60_000)))))
  it.effect("a reservation held across the change settles or is released exactly once, whichever bucket it moved to", () =>
    Effect.gen(function* () {
      const files = yield* ConfigFiles
      const limiter = yield* RateLimiter
      const m = limitedModel(10, 1_000_000)
      yield* TestClock.adjust("1200 millis")
      // Made in the 1 s bucket [1 s, 2 s): under 1.5 s buckets it moves to [1.5 s, 3 s), not to the bucket of its own time.
      const released = yield* limiter.reserve(m, 100)
      const settled = yield* limiter.reserve(m, 100)
      yield* files.apply(withWindow(90_000))
      yield* TestClock.adjust("800 millis")
      yield* limiter.reserve(m, 1)
      yield* limiter.release(released)
      yield* limiter.settle(settled, 30)
      yield* limiter.release(released)
      yield* limiter.settle(settled, 1_000)
      const room = yield* limiter.headroom(m, 1)
      assert.deepStrictEqual([room.requestsUsed, room.tokensUsed], [2, 31])
    }).pipe(Effect.provide(testLayer(withWindow(60_000)))))
})

describe("RateLimiter: a reload that changes a model's rpm / tpm", () => {
  it.effect("a lower rpm refuses while held requests exceed it; settles never count below zero; a higher one admits exactly the difference", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter
      const before = limitedModel(4, 1_000)
      const held = [yield* limiter.reserve(before, 200), yield* limiter.reserve(before, 200), yield* limiter.reserve(before, 200)]
      const lower = limitedModel(2, 500)
      assert.isFalse(yield* admitted(lower))
      for (const r of held) yield* limiter.settle(r, 0)
      yield* limiter.release(held[0]!)
      yield* limiter.release(held[0]!)
      const room = yield* limiter.headroom(lower, 1)
      assert.strictEqual(room.requestsUsed, 3, "settled requests still count; a release after a settle changes nothing")
      assert.strictEqual(room.tokensUsed, 0)
      const higher = limitedModel(5, 1_000)
      assert.isTrue(yield* admitted(higher))
      assert.isTrue(yield* admitted(higher))
      assert.isFalse(yield* admitted(higher))
    }).pipe(Effect.provide(testLayer(withWindow(60_000)))))
})
