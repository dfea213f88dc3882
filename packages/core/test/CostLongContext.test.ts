/**
 * Long-prompt prices. Gemini 2.5 Pro bills a request whose prompt is over
 * 200k tokens at its long-context rates, every token of it: $2.50 input,
 * $15 output, $0.25 cached input per million, against $1.25 / $10 / $0.125
 * up to 200k (ai.google.dev/gemini-api/docs/pricing, the source the shipped
 * registry names; its context window is 1,048,576 tokens, so such prompts
 * reach it). The prompt counted is `promptTokenCount`, cached content
 * included (PROVIDERS.md §3 Response, Usage).
 */
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { computeCost } from "@modelgate/core/CostTracker"
import { loadFile } from "@modelgate/core/ModelRegistry"
import { Effect } from "effect"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")

/** A dollar per million tokens is a million pico-dollars per token. */
const usd = (tokens: number, perMillion: number) => tokens * perMillion * 1_000_000

describe("long-context prices", () => {
  it.effect("the shipped gemini-2.5-pro: a prompt over 200k tokens is billed at the long rates, one at 200k at the base rates", () =>
    Effect.gen(function* () {
      const models = yield* loadFile(path.join(repoRoot, "config/models.json"))
      const pro = models.find((m) => m.id === "gemini-2.5-pro")!
      const long = computeCost(pro.pricing, { promptTokens: 250_000, completionTokens: 2_000, cachedTokens: 100_000 })
      assert.strictEqual(long, usd(150_000, 2.5) + usd(100_000, 0.25) + usd(2_000, 15), `charged $${long / 1e12}`)
      const atLimit = computeCost(pro.pricing, { promptTokens: 200_000, completionTokens: 2_000, cachedTokens: 100_000 })
      assert.strictEqual(atLimit, usd(100_000, 1.25) + usd(100_000, 0.125) + usd(2_000, 10))
    }).pipe(Effect.provide(NodeContext.layer)))

  it("a long-context price set applies above its threshold only, its missing prices as the base ones do", () => {
    const pricing = { inputPerMillion: 3, outputPerMillion: 15, cachedInputPerMillion: 0.3, longContext: { aboveTokens: 200_000, inputPerMillion: 6, outputPerMillion: 22.5 } }
    assert.strictEqual(computeCost(pricing, { promptTokens: 200_000, completionTokens: 10, cachedTokens: 0 }), usd(200_000, 3) + usd(10, 15))
    // No cached price of its own in the long set: cached tokens at its input price, as a base set without one.
    assert.strictEqual(
      computeCost(pricing, { promptTokens: 200_001, completionTokens: 10, cachedTokens: 1 }),
      usd(200_000, 6) + usd(1, 6) + usd(10, 22.5)
    )
  })
})
