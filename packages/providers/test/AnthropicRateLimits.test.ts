/**
 * Anthropic counts input tokens (ITPM) and output tokens (OTPM) apart, and its
 * `anthropic-ratelimit-tokens-*` headers are their sum: what the gateway learns
 * from an answer's headers (`parseRateLimit` then `RateLimiter.observe`) must
 * hold a key back when either one is spent, and not before.
 */
import { Headers } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import * as Events from "@modelgate/core/Events"
import * as GatewayConfig from "@modelgate/core/GatewayConfig"
import { RateLimiter } from "@modelgate/core/RateLimiter"
import * as RateLimiterModule from "@modelgate/core/RateLimiter"
import * as RecordSink from "@modelgate/core/RecordSink"
import { Effect, Layer, TestClock } from "effect"
import { parseRateLimit } from "../src/Anthropic/Errors.js"
import { modelOf } from "./internal/fixtures.js"

// The registry's `tpm` for an Anthropic model is its input limit (config/models.json): ITPM 200 000 here, OTPM 8 000.
const model = modelOf("anthropic", "claude-fake-1", "claude-test")
const key = "anthropic#1"

const limiterLayer = RateLimiterModule.layerMemory.pipe(
  Layer.provide(Layer.mergeAll(GatewayConfig.layerStatic(), RecordSink.layerMemory, Events.layer))
)

/** Anthropic's headers at `now`: each of input and output as [remaining, seconds to reset]; `tokens-*` is their sum. */
const answerHeaders = (now: number, input: readonly [number, number], output: readonly [number, number]) => {
  const at = (seconds: number) => new Date(now + seconds * 1_000).toISOString()
  return Headers.fromInput({
    "anthropic-ratelimit-requests-limit": "1000",
    "anthropic-ratelimit-requests-remaining": "990",
    "anthropic-ratelimit-requests-reset": at(1),
    "anthropic-ratelimit-input-tokens-limit": "200000",
    "anthropic-ratelimit-input-tokens-remaining": String(input[0]),
    "anthropic-ratelimit-input-tokens-reset": at(input[1]),
    "anthropic-ratelimit-output-tokens-limit": "8000",
    "anthropic-ratelimit-output-tokens-remaining": String(output[0]),
    "anthropic-ratelimit-output-tokens-reset": at(output[1]),
    "anthropic-ratelimit-tokens-limit": "208000",
    "anthropic-ratelimit-tokens-remaining": String(input[0] + output[0]),
    "anthropic-ratelimit-tokens-reset": at(Math.max(input[1], output[1]))
  })
}

/** Learn from the headers on the key, then whether a request of `tokens` fits on it now. */
const learnThenRoom = (headers: Headers.Headers, tokens: number) =>
  Effect.gen(function* () {
    const limiter = yield* RateLimiter
    const info = parseRateLimit(headers, 0)
    assert.isDefined(info)
    yield* limiter.observe(model, info!, key)
    return yield* limiter.headroom(model, tokens, key)
  })

describe("Anthropic input and output token limits", () => {
  it.effect("output tokens spent (OTPM) while input has room: the key is held until the output reset, not sent to a sure 429", () =>
    Effect.gen(function* () {
      // 180 000 of 200 000 input tokens left, 0 of 8 000 output tokens: `tokens-remaining` says 180 000
      const room = yield* learnThenRoom(answerHeaders(0, [180_000, 6], [0, 7]), 2_000)
      assert.isFalse(room.fits)
      assert.strictEqual(room.retryAfterMs, 7_000)
      yield* TestClock.adjust("7 seconds")
      assert.isTrue((yield* RateLimiter.pipe(Effect.flatMap((l) => l.headroom(model, 2_000, key)))).fits)
    }).pipe(Effect.provide(limiterLayer)))

  it.effect("input tokens spent (ITPM) while output is idle: the key is held until the input reset", () =>
    Effect.gen(function* () {
      // 0 input tokens left, all 8 000 output tokens: `tokens-remaining` says 8 000
      const room = yield* learnThenRoom(answerHeaders(0, [0, 3], [8_000, 0]), 2_000)
      assert.isFalse(room.fits)
      assert.strictEqual(room.retryAfterMs, 3_000)
    }).pipe(Effect.provide(limiterLayer)))

  it.effect("little input left: a prompt bigger than the input remaining waits, one within it goes", () =>
    Effect.gen(function* () {
      // 10 000 input tokens left (5 % of 200 000) for 5 s, output idle: `tokens-remaining` says 18 000
      const big = yield* learnThenRoom(answerHeaders(0, [10_000, 5], [8_000, 0]), 15_000)
      assert.isFalse(big.fits)
      assert.strictEqual(big.retryAfterMs, 5_000)
      assert.isTrue((yield* RateLimiter.pipe(Effect.flatMap((l) => l.headroom(model, 9_000, key)))).fits)
    }).pipe(Effect.provide(limiterLayer)))

  it.effect("output low but not spent: Anthropic charges max_tokens up front, so a call whose max_tokens exceeds the output left waits for the output reset", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter
      // 3 000 of 8 000 output tokens left, whole again in 7 s; input has room
      const info = parseRateLimit(answerHeaders(0, [180_000, 6], [3_000, 7]), 0)
      assert.deepStrictEqual([info?.limitOutputTokens, info?.remainingOutputTokens, info?.resetOutputTokensMs], [8_000, 3_000, 7_000])
      yield* limiter.observe(model, info!, key)
      const refused = yield* Effect.flip(limiter.reserve(model, 2_000, key, 4_096))
      assert.strictEqual(refused.dimension, "provider")
      assert.strictEqual(refused.retryAfterMs, 7_000)
      yield* limiter.reserve(model, 2_000, key, 2_000)
      yield* TestClock.adjust("7 seconds")
      yield* limiter.reserve(model, 2_000, key, 4_096)
    }).pipe(Effect.provide(limiterLayer)))
})
