import { assert, describe, it } from "@effect/vitest"
import { MAX_SAFE_PICO, picoToSafeNumber } from "@modelgate/domain/Money"

describe("picoToSafeNumber", () => {
  it("keeps a safe amount exact", () => {
    assert.strictEqual(picoToSafeNumber(0n), 0)
    assert.strictEqual(picoToSafeNumber(1_234_567_890_123n), 1_234_567_890_123)
    assert.strictEqual(picoToSafeNumber(MAX_SAFE_PICO), Number.MAX_SAFE_INTEGER)
  })

  it("caps an amount above 2^53 - 1 (about $9,007) to it", () => {
    assert.strictEqual(MAX_SAFE_PICO, 9_007_199_254_740_991n)
    assert.strictEqual(picoToSafeNumber(MAX_SAFE_PICO + 1n), Number.MAX_SAFE_INTEGER)
    assert.strictEqual(picoToSafeNumber(50_000n * 1_000_000_000_000n), Number.MAX_SAFE_INTEGER)
  })

  it("leaves a negative amount to the caller", () => {
    assert.strictEqual(picoToSafeNumber(-5n), -5)
  })
})
