/**
 * A provider's output-token limit (Anthropic's OTPM), learned from its headers:
 * the provider counts each call's `max_tokens` against it when the call
 * starts and the actual output when it ends, so the limiter holds each call's
 * output reservation against what the provider said is left, on that key,
 * until the reset (calls in flight counted), and settles it to the actual
 * output after the call. A provider without an output limit is not concerned.
 */
import { assert, describe, it } from "@effect/vitest"
import { RateLimitInfo } from "@modelgate/domain/RateLimitInfo"
import { Effect, Layer, TestClock } from "effect"
import * as Events from "../src/Events.js"
import * as GatewayConfig from "../src/GatewayConfig.js"
import { RateLimiter } from "../src/RateLimiter.js"
import * as RateLimiterModule from "../src/RateLimiter.js"
import * as RecordSink from "../src/RecordSink.js"
import { limitedModel } from "./TestModels.js"

const limiterLayer = RateLimiterModule.layerMemory.pipe(
  Layer.provide(Layer.mergeAll(GatewayConfig.layerStatic(), RecordSink.layerMemory, Events.layer))
)

// Input limits far away: only the output limit can refuse here.
const m = limitedModel(1_000, 10_000_000)
const key = "anthropic#1"

/** 8 000 output tokens a minute, `remaining` left, full again in `resetMs`. */
const outputLeft = (remaining: number, resetMs: number) =>
  RateLimitInfo.make({ limitOutputTokens: 8_000, remainingOutputTokens: remaining, resetOutputTokensMs: resetMs })

describe("RateLimiter: a provider's output-token limit", () => {
  it.effect("each call's max_tokens is held against the output left on the key until its reset: the third of three 4 000-token calls waits", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter
      yield* limiter.observe(m, outputLeft(8_000, 60_000), key)
      yield* limiter.reserve(m, 100, key, 4_000)
      yield* limiter.reserve(m, 100, key, 4_000)
      const refused = yield* Effect.flip(limiter.reserve(m, 100, key, 4_000))
      assert.strictEqual(refused.dimension, "provider")
      assert.strictEqual(refused.retryAfterMs, 60_000)
      // a smaller call still has nothing left either; another key is not concerned; nor is a call with no output reservation
      assert.strictEqual((yield* Effect.flip(limiter.reserve(m, 100, key, 1))).dimension, "provider")
      yield* limiter.reserve(m, 100, "anthropic#2", 4_000)
      yield* limiter.reserve(m, 100, key)
      // at the reset the key has its whole limit again, less the two calls still open
      yield* TestClock.adjust("60 seconds")
      assert.strictEqual((yield* Effect.flip(limiter.reserve(m, 100, key, 4_000))).dimension, "provider")
    }).pipe(Effect.provide(limiterLayer)))

  it.effect("calls in flight when the count arrives are counted; each settles to its actual output, and a released call gives its reservation back", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter
      // two calls sent before anything was known of the key's output limit
      const a = yield* limiter.reserve(m, 100, key, 3_000)
      const b = yield* limiter.reserve(m, 100, key, 3_000)
      // 8 000 left, as the provider counted before it saw them: 2 000 for new calls
      yield* limiter.observe(m, outputLeft(8_000, 30_000), key)
      assert.strictEqual((yield* Effect.flip(limiter.reserve(m, 100, key, 2_500))).retryAfterMs, 30_000)
      // `a` wrote 200 tokens of its 3 000: 2 800 back, 4 800 left
      yield* limiter.settle(a, 300, undefined, 200)
      const c = yield* limiter.reserve(m, 100, key, 4_500)
      assert.strictEqual((yield* Effect.flip(limiter.reserve(m, 100, key, 400))).dimension, "provider")
      // `b` never reached the provider: all of its 3 000 back
      yield* limiter.release(b)
      yield* limiter.reserve(m, 100, key, 3_000)
      // a settle without an output count keeps the reservation (the provider counted max_tokens)
      yield* limiter.settle(c, 300)
      assert.strictEqual((yield* Effect.flip(limiter.reserve(m, 100, key, 400))).dimension, "provider")
    }).pipe(Effect.provide(limiterLayer)))

  it.effect("a max_tokens above the whole output limit is held as the whole limit: sent once the key's output is all free", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter
      yield* limiter.observe(m, outputLeft(8_000, 0), key)
      const big = yield* limiter.reserve(m, 100, key, 64_000)
      assert.strictEqual((yield* Effect.flip(limiter.reserve(m, 100, key, 1))).dimension, "provider")
      yield* limiter.settle(big, 100, undefined, 1_000)
      yield* limiter.reserve(m, 100, key, 7_000)
    }).pipe(Effect.provide(limiterLayer)))

  it.effect("the count told by an open call's own answer (a stream, as it opens) already holds that call: its reservation is not taken off again", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter
      yield* limiter.observe(m, outputLeft(8_000, 60_000), key)
      const stream = yield* limiter.reserve(m, 100, key, 3_000)
      // its opening headers: 8 000 less its own 3 000 as Anthropic charged them
      yield* limiter.observe(m, outputLeft(5_000, 60_000), key, undefined, stream)
      yield* limiter.reserve(m, 100, key, 5_000)
      assert.strictEqual((yield* Effect.flip(limiter.reserve(m, 100, key, 1))).dimension, "provider")
      // it wrote 1 000 of its 3 000: 2 000 back
      yield* limiter.settle(stream, 1_100, undefined, 1_000)
      yield* limiter.reserve(m, 100, key, 2_000)
      assert.strictEqual((yield* Effect.flip(limiter.reserve(m, 100, key, 1))).dimension, "provider")
    }).pipe(Effect.provide(limiterLayer)))
})
