/**
 * Each provider's usage, as its wire reports it, reaches the cost record's
 * breakdown: Anthropic's cache writes (`cache_creation_input_tokens`) and
 * thinking, OpenAI's reasoning (`completion_tokens_details.reasoning_tokens`)
 * and Gemini's thoughts (`thoughtsTokenCount`), with cache reads, and the
 * costs aggregate sums them; the record's prompt and completion totals stay
 * the answer's (the breakdown is inside them).
 */
import { assert, describe, it } from "@effect/vitest"
import { aggregateCosts } from "@modelgate/core/CostStore"
import { usageTokens } from "@modelgate/core/Gateway/Accounting"
import type { Usage } from "@modelgate/domain/Chat"
import { CostRecord } from "@modelgate/domain/Records"
import { AnthropicUsage, usageOf as anthropicUsage } from "../src/Anthropic/Response.js"
import { UsageMetadata, usageOf as geminiUsage } from "../src/Google/Response.js"
import { toUsage, WireUsage } from "../src/OpenAi/wire.js"
import { Schema } from "effect"

const noEstimate = () => ({ prompt: 0, completion: 0 })

const providers: ReadonlyArray<{
  readonly provider: string
  readonly usage: Usage
  readonly expected: { readonly promptTokens: number; readonly completionTokens: number; readonly cachedTokens: number; readonly cacheWriteTokens: number; readonly reasoningTokens: number }
}> = [
  {
    provider: "anthropic",
    usage: anthropicUsage(Schema.decodeUnknownSync(AnthropicUsage)({
      input_tokens: 50,
      cache_creation_input_tokens: 4_000,
      cache_read_input_tokens: 1_000,
      output_tokens: 300,
      output_tokens_details: { thinking_tokens: 120 }
    })),
    expected: { promptTokens: 5_050, completionTokens: 300, cachedTokens: 1_000, cacheWriteTokens: 4_000, reasoningTokens: 120 }
  },
  {
    provider: "openai",
    usage: toUsage(Schema.decodeUnknownSync(WireUsage)({
      prompt_tokens: 2_000,
      completion_tokens: 900,
      total_tokens: 2_900,
      prompt_tokens_details: { cached_tokens: 1_024 },
      completion_tokens_details: { reasoning_tokens: 640 }
    })),
    expected: { promptTokens: 2_000, completionTokens: 900, cachedTokens: 1_024, cacheWriteTokens: 0, reasoningTokens: 640 }
  },
  {
    provider: "google",
    usage: geminiUsage(
      Schema.decodeUnknownSync(UsageMetadata)({ promptTokenCount: 3_000, cachedContentTokenCount: 2_000, candidatesTokenCount: 200, thoughtsTokenCount: 500, totalTokenCount: 3_700 }),
      noEstimate
    ),
    expected: { promptTokens: 3_000, completionTokens: 700, cachedTokens: 2_000, cacheWriteTokens: 0, reasoningTokens: 500 }
  }
]

describe("the cost record's token breakdown, per provider", () => {
  for (const { expected, provider, usage } of providers) {
    it(`${provider}: its reported cache reads, writes and reasoning are the record's, and summed by the costs aggregate`, () => {
      assert.deepStrictEqual(usageTokens(usage), expected)
      const records = [1, 2].map((at) =>
        CostRecord.make({ at, requestId: `r${at}`, model: "m", provider, ...usageTokens(usage), costPicoUsd: 10, cacheHit: false })
      )
      const [group] = aggregateCosts(records, { groupBy: "provider" })
      assert.deepStrictEqual(
        [group?.promptTokens, group?.completionTokens, group?.cachedTokens, group?.cacheWriteTokens, group?.reasoningTokens, group?.costPicoUsd],
        [2 * expected.promptTokens, 2 * expected.completionTokens, 2 * expected.cachedTokens, 2 * expected.cacheWriteTokens, 2 * expected.reasoningTokens, 20n]
      )
    })
  }
})
