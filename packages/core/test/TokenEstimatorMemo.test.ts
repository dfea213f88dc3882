import { assert, describe, it } from "@effect/vitest"
import { countTokens as countCl100k } from "gpt-tokenizer/encoding/cl100k_base"
import { countTokens as countO200k } from "gpt-tokenizer/encoding/o200k_base"
import * as fc from "fast-check"
import * as TokenEstimator from "../src/TokenEstimator.js"

describe("TokenEstimator text counts", () => {
  it("a text counted again (remembered, or forgotten after many others) gives the tokenizer's count (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 200, unit: "grapheme" }), { minLength: 1, maxLength: 50 }), (texts) => {
        for (const round of [0, 1]) {
          for (const text of texts) {
            assert.strictEqual(TokenEstimator.countText(text, "o200k_base"), text.length === 0 ? 0 : countO200k(text), `round ${round}`)
            assert.strictEqual(TokenEstimator.countText(text, "cl100k_base"), text.length === 0 ? 0 : countCl100k(text), `round ${round}`)
          }
        }
      }),
      { numRuns: 100 }
    )
    // Past the memo's bounds, older texts are forgotten and counted again, still exactly.
    const many = Array.from({ length: 5_000 }, (_, i) => `text number ${i} with a few words`)
    for (const text of many) TokenEstimator.countText(text, "o200k_base")
    assert.strictEqual(TokenEstimator.countText(many[0]!, "o200k_base"), countO200k(many[0]!))
    assert.strictEqual(TokenEstimator.countText(many[4_999]!, "o200k_base"), countO200k(many[4_999]!))
  })
})
