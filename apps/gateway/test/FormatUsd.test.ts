/**
 * Costs in the `x-modelgate-cost-usd` header: plain decimals (no exponent),
 * exact to 12 places, no trailing zeros.
 */
import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { formatUsd } from "../src/http/Chat.js"

describe("formatUsd", () => {
  it("writes small and large amounts as plain decimals", () => {
    assert.strictEqual(formatUsd(0), "0")
    assert.strictEqual(formatUsd(0.0000015), "0.0000015")
    assert.strictEqual(formatUsd(12.5), "12.5")
    assert.strictEqual(formatUsd(3), "3")
  })

  it("keeps the value to 12 places and drops trailing zeros", () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1e9, noNaN: true }), (usd) => {
        const text = formatUsd(usd)
        assert.match(text, /^\d+(\.\d*[1-9])?$/)
        assert.strictEqual(Number(text), Number(usd.toFixed(12)))
      }),
      { numRuns: 1_000 }
    )
  })
})
