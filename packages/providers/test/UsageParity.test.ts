/**
 * The same answer costs the same streamed or not, on every provider, and is
 * priced as the provider bills it (PROVIDERS.md §5, "Usage ↔ OpenAI usage"):
 * cache reads at the cached price and not also at the input price, Anthropic's
 * cache writes at their lifetime's write price, reasoning and thinking tokens
 * once as output (inside OpenAI's `completion_tokens`, beside Gemini's
 * `candidatesTokenCount`). Over the testkit fakes, which report each of these
 * counts as the providers do.
 */
import { assert, describe, it } from "@effect/vitest"
import type { CallContext, Provider } from "@modelgate/core/Provider"
import { computeCost, tokenUsageOf } from "@modelgate/core/CostTracker"
import type { ChatRequest, Usage } from "@modelgate/domain/Chat"
import { Pricing } from "@modelgate/domain/Model"
import * as FakeAnthropic from "@modelgate/testkit/FakeAnthropic"
import * as FakeGoogle from "@modelgate/testkit/FakeGoogle"
import * as FakeOllama from "@modelgate/testkit/FakeOllama"
import * as FakeOpenAi from "@modelgate/testkit/FakeOpenAi"
import { Effect } from "effect"
import * as Anthropic from "../src/Anthropic.js"
import * as Google from "../src/Google.js"
import * as Ollama from "../src/Ollama.js"
import * as OpenAi from "../src/OpenAi.js"
import { adapterOver, collect, ctxOf, keyOf, live, modelOf } from "./internal/fixtures.js"

const question: Partial<ChatRequest> = {
  messages: [{ role: "user", content: "tell me about the many rivers of the northern plains and their towns" }]
}

/** A dollar per million tokens is a million pico-dollars per token. */
const usd = (tokens: number, perMillion: number) => tokens * Math.round(perMillion * 1_000_000)

/** The usage of the complete answer and of the streamed one (its usage chunk, the only one). */
const bothUsages = (provider: Provider, ctx: CallContext) =>
  Effect.gen(function*() {
    const whole = (yield* provider.chat(ctx)).response.usage
    const chunks = yield* collect((yield* provider.stream(ctx)).chunks)
    const streamed = chunks.flatMap((c) => (c.usage != null ? [c.usage] : []))
    assert.lengthOf(streamed, 1, "one usage chunk")
    return { whole, streamed: streamed[0]! }
  })

/** Both usages are the same and cost the same, `expected` (computed by hand from the provider's counts). */
const assertSameCost = (pricing: Pricing, usages: { readonly whole: Usage; readonly streamed: Usage }, expected: (usage: Usage) => number) => {
  assert.deepStrictEqual(usages.streamed, usages.whole)
  assert.isUndefined(usages.whole.estimated, "the provider's own counts")
  const whole = computeCost(pricing, tokenUsageOf(usages.whole))
  assert.strictEqual(computeCost(pricing, tokenUsageOf(usages.streamed)), whole)
  assert.strictEqual(whole, expected(usages.whole))
}

describe("a streamed answer costs what the same answer costs whole, priced as the provider bills it", () => {
  it.scoped("OpenAI: cached tokens at the cached price only, reasoning tokens once (inside completion_tokens)", () =>
    live(Effect.gen(function*() {
      const pricing = Pricing.make({ inputPerMillion: 2, outputPerMillion: 8, cachedInputPerMillion: 0.5 })
      const { provider } = yield* adapterOver(FakeOpenAi.make, OpenAi.make, (f) => f.baseUrl)({}, { usage: { cached: 3, reasoning: 11 } })
      const usages = yield* bothUsages(provider, ctxOf(modelOf("openai", "o4-mini"), keyOf("openai", "sk-test-openai"), question))
      assert.strictEqual(usages.whole.completion_tokens_details?.reasoning_tokens, 11)
      assertSameCost(pricing, usages, (u) => usd(u.prompt_tokens - 3, 2) + usd(3, 0.5) + usd(u.completion_tokens, 8))
    })))

  it.scoped("OpenAI with a prediction: its accepted and rejected tokens reach the client, rejected ones billed once as output", () =>
    live(Effect.gen(function*() {
      const pricing = Pricing.make({ inputPerMillion: 2, outputPerMillion: 8, cachedInputPerMillion: 0.5 })
      const { provider } = yield* adapterOver(FakeOpenAi.make, OpenAi.make, (f) => f.baseUrl)({}, {
        usage: { acceptedPrediction: 6, rejectedPrediction: 4 }
      })
      const request = { ...question, prediction: { type: "content", content: "the many rivers" } } as Partial<ChatRequest>
      const usages = yield* bothUsages(provider, ctxOf(modelOf("openai", "gpt-4o-mini"), keyOf("openai", "sk-test-openai"), request))
      assert.deepStrictEqual(usages.whole.completion_tokens_details, {
        reasoning_tokens: 0,
        accepted_prediction_tokens: 6,
        rejected_prediction_tokens: 4
      })
      assertSameCost(pricing, usages, (u) => usd(u.prompt_tokens, 2) + usd(u.completion_tokens, 8))
    })))

  it.scoped("OpenAI with n = 2: one usage for every choice, streamed as whole", () =>
    live(Effect.gen(function*() {
      const pricing = Pricing.make({ inputPerMillion: 0.15, outputPerMillion: 0.6 })
      const { provider } = yield* adapterOver(FakeOpenAi.make, OpenAi.make, (f) => f.baseUrl)({})
      const usages = yield* bothUsages(provider, ctxOf(modelOf("openai", "gpt-4o-mini"), keyOf("openai", "sk-test-openai"), { ...question, n: 2 }))
      const one = yield* bothUsages(provider, ctxOf(modelOf("openai", "gpt-4o-mini"), keyOf("openai", "sk-test-openai"), question))
      assert.isAbove(usages.whole.completion_tokens, 2 * one.whole.completion_tokens - 1, "both choices' output")
      assertSameCost(pricing, usages, (u) => usd(u.prompt_tokens, 0.15) + usd(u.completion_tokens, 0.6))
    })))

  it.scoped("Anthropic: input_tokens plus cache reads at the read price, 5-minute and 1-hour writes at theirs", () =>
    live(Effect.gen(function*() {
      const pricing = Pricing.make({
        inputPerMillion: 1,
        outputPerMillion: 5,
        cachedInputPerMillion: 0.1,
        cacheWriteInputPerMillion: 1.25,
        cacheWriteHourInputPerMillion: 2
      })
      const { provider } = yield* adapterOver(FakeAnthropic.make, Anthropic.make)({}, { cache: { read: 1_500, creation: 300, hour: 100 } })
      const usages = yield* bothUsages(provider, ctxOf(modelOf("anthropic", "claude-fake-1"), keyOf("anthropic", FakeAnthropic.defaultApiKey), question))
      assertSameCost(pricing, usages, (u) =>
        usd(u.prompt_tokens - 1_800, 1) + usd(1_500, 0.1) + usd(200, 1.25) + usd(100, 2) + usd(u.completion_tokens, 5))
    })))

  it.scoped("Gemini: cached content at the cached price, thoughts billed as output beside the candidates", () =>
    live(Effect.gen(function*() {
      const pricing = Pricing.make({ inputPerMillion: 0.3, outputPerMillion: 2.5, cachedInputPerMillion: 0.03 })
      const { provider } = yield* adapterOver(FakeGoogle.make, Google.make)({}, { usage: { cached: 10, thoughts: 7 } })
      const usages = yield* bothUsages(provider, ctxOf(modelOf("google", "gemini-fake"), keyOf("google", FakeGoogle.defaultApiKey), question))
      assert.strictEqual(usages.whole.completion_tokens_details?.reasoning_tokens, 7)
      assertSameCost(pricing, usages, (u) => usd(u.prompt_tokens - 10, 0.3) + usd(10, 0.03) + usd(u.completion_tokens, 2.5))
    })))

  it.scoped("Ollama: prompt_eval_count and eval_count of the final line", () =>
    live(Effect.gen(function*() {
      const pricing = Pricing.make({ inputPerMillion: 0.1, outputPerMillion: 0.2 })
      const { provider } = yield* adapterOver(FakeOllama.make, Ollama.make)({})
      const usages = yield* bothUsages(provider, ctxOf(modelOf("ollama", "llama3.2"), undefined, question))
      assertSameCost(pricing, usages, (u) => usd(u.prompt_tokens, 0.1) + usd(u.completion_tokens, 0.2))
    })))
})
