import { assert, describe, it } from "@effect/vitest"
import { computeCost } from "@modelgate/core/CostTracker"
import { perTokenPico } from "@modelgate/domain/Money"
import * as fc from "fast-check"

/** The exact cost in bigint, as `computeCost` defines it. */
const reference = (
  pricing: { inputPerMillion: number; outputPerMillion: number; cachedInputPerMillion?: number },
  usage: { promptTokens: number; completionTokens: number; cachedTokens: number }
) => {
  const cached = Math.min(usage.cachedTokens, usage.promptTokens)
  return Number(
    BigInt(usage.promptTokens - cached) * BigInt(perTokenPico(pricing.inputPerMillion)) +
      BigInt(cached) * BigInt(perTokenPico(pricing.cachedInputPerMillion ?? pricing.inputPerMillion)) +
      BigInt(usage.completionTokens) * BigInt(perTokenPico(pricing.outputPerMillion))
  )
}

const price = fc.oneof(fc.constantFrom(0, 0.075, 0.15, 0.6, 2.5, 10, 75), fc.integer({ min: 0, max: 100_000_000 }).map((n) => n / 1_000_000))
const tokens = fc.oneof(fc.integer({ min: 0, max: 200_000 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }))

describe("computeCost", () => {
  it("equals the exact bigint computation, small or huge (property)", () => {
    fc.assert(
      fc.property(
        price,
        price,
        fc.option(price, { nil: undefined }),
        tokens,
        tokens,
        tokens,
        (input, output, cachedPrice, promptTokens, completionTokens, cachedTokens) => {
          const pricing = cachedPrice === undefined
            ? { inputPerMillion: input, outputPerMillion: output }
            : { inputPerMillion: input, outputPerMillion: output, cachedInputPerMillion: cachedPrice }
          const usage = { promptTokens, completionTokens, cachedTokens }
          assert.strictEqual(computeCost(pricing, usage), reference(pricing, usage))
        }
      ),
      { numRuns: 1_000 }
    )
  })
})
