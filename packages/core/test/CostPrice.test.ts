import { assert, describe, it } from "@effect/vitest"
import { computeCost } from "@modelgate/core/CostTracker"
import { perTokenPico } from "@modelgate/domain/Money"
import * as fc from "fast-check"

type Prices = {
  inputPerMillion: number
  outputPerMillion: number
  cachedInputPerMillion?: number
  cacheWriteInputPerMillion?: number
  cacheWriteHourInputPerMillion?: number
  audioInputPerMillion?: number
  cachedAudioInputPerMillion?: number
}
type Tokens = {
  promptTokens: number
  completionTokens: number
  cachedTokens: number
  cacheWriteTokens?: number
  cacheWriteHourTokens?: number
  audioTokens?: number
  cachedAudioTokens?: number
}

/** The exact cost in bigint, as `computeCost` defines it (one price set: no long-context prices). */
const reference = (pricing: Prices, usage: Tokens) => {
  const cached = Math.min(usage.cachedTokens, usage.promptTokens)
  const cachedAudio = Math.min(usage.cachedAudioTokens ?? 0, cached)
  const written = Math.min(usage.cacheWriteTokens ?? 0, usage.promptTokens - cached)
  const hour = Math.min(usage.cacheWriteHourTokens ?? 0, written)
  const audio = Math.min(Math.max(0, (usage.audioTokens ?? 0) - cachedAudio), usage.promptTokens - cached - written)
  const write = pricing.cacheWriteInputPerMillion ?? pricing.inputPerMillion
  const cachedPrice = pricing.cachedInputPerMillion ?? pricing.inputPerMillion
  return Number(
    BigInt(usage.promptTokens - cached - written - audio) * BigInt(perTokenPico(pricing.inputPerMillion)) +
      BigInt(audio) * BigInt(perTokenPico(pricing.audioInputPerMillion ?? pricing.inputPerMillion)) +
      BigInt(cached - cachedAudio) * BigInt(perTokenPico(cachedPrice)) +
      BigInt(cachedAudio) * BigInt(perTokenPico(pricing.cachedAudioInputPerMillion ?? cachedPrice)) +
      BigInt(written - hour) * BigInt(perTokenPico(write)) +
      BigInt(hour) * BigInt(perTokenPico(pricing.cacheWriteHourInputPerMillion ?? write)) +
      BigInt(usage.completionTokens) * BigInt(perTokenPico(pricing.outputPerMillion))
  )
}

const price = fc.oneof(fc.constantFrom(0, 0.075, 0.15, 0.6, 2.5, 10, 75), fc.integer({ min: 0, max: 100_000_000 }).map((n) => n / 1_000_000))
const tokens = fc.oneof(fc.integer({ min: 0, max: 200_000 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }))

describe("computeCost", () => {
  it("equals the exact bigint computation, small or huge, cache reads and writes and audio included (property)", () => {
    // Keys left out of `requiredKeys` are absent or hold a value.
    fc.assert(
      fc.property(
        fc.record({
          inputPerMillion: price,
          outputPerMillion: price,
          cachedInputPerMillion: price,
          cacheWriteInputPerMillion: price,
          cacheWriteHourInputPerMillion: price,
          audioInputPerMillion: price,
          cachedAudioInputPerMillion: price
        }, { requiredKeys: ["inputPerMillion", "outputPerMillion"] }),
        fc.record({
          promptTokens: tokens,
          completionTokens: tokens,
          cachedTokens: tokens,
          cacheWriteTokens: tokens,
          cacheWriteHourTokens: tokens,
          audioTokens: tokens,
          cachedAudioTokens: tokens
        }, { requiredKeys: ["promptTokens", "completionTokens", "cachedTokens"] }),
        (pricing, usage) => {
          assert.strictEqual(computeCost(pricing, usage), reference(pricing, usage))
        }
      ),
      { numRuns: 1_000 }
    )
  })

  it("prices Anthropic's cache writes at their own price: 1,000 fresh, 2,000 read and 4,000 written tokens of Claude Sonnet 4.5", () => {
    // $3 input, $0.30 cache reads, $3.75 cache writes, $15 output per million tokens
    const sonnet = { inputPerMillion: 3, outputPerMillion: 15, cachedInputPerMillion: 0.3, cacheWriteInputPerMillion: 3.75 }
    const cost = computeCost(sonnet, { promptTokens: 7_000, completionTokens: 100, cachedTokens: 2_000, cacheWriteTokens: 4_000 })
    // per million tokens: 1,000 x $3 + 2,000 x $0.30 + 4,000 x $3.75 + 100 x $15; a dollar per million tokens is 1,000,000 pico-dollars a token
    assert.strictEqual(cost, (1_000 * 3 + 2_000 * 0.3 + 4_000 * 3.75 + 100 * 15) * 1_000_000)
    // Without a write price the writes cost the input price, as before.
    assert.strictEqual(
      computeCost({ inputPerMillion: 3, outputPerMillion: 15 }, { promptTokens: 7_000, completionTokens: 0, cachedTokens: 0, cacheWriteTokens: 4_000 }),
      7_000 * 3 * 1_000_000
    )
  })
})
