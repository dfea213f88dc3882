/**
 * Audio input is billed at its own price. Gemini counts it apart in
 * `usageMetadata.promptTokensDetails` (modality AUDIO; SDK:
 * `GenerateContentResponseUsageMetadata.promptTokensDetails`) and bills it
 * above text on Flash ($1.00 against $0.30 per million on 2.5 Flash, $0.30
 * against $0.10 on Flash-Lite: ai.google.dev/gemini-api/docs/pricing, the
 * source the shipped registry names); OpenAI reports
 * `prompt_tokens_details.audio_tokens` (PROVIDERS.md §1 Response) and bills
 * its audio models' audio input at an audio price. Both are part of the
 * prompt count. Audio Gemini reads from its cache (`cacheTokensDetails`,
 * modality AUDIO, part of `cachedContentTokenCount`) has its own cache price
 * ($0.10 against $0.03 per million on 2.5 Flash).
 */
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { computeCost, tokenUsageOf } from "@modelgate/core/CostTracker"
import type { CallContext, Provider } from "@modelgate/core/Provider"
import { loadFile } from "@modelgate/core/ModelRegistry"
import type { ChatRequest, Usage } from "@modelgate/domain/Chat"
import { Pricing } from "@modelgate/domain/Model"
import * as FakeGoogle from "@modelgate/testkit/FakeGoogle"
import * as FakeOpenAi from "@modelgate/testkit/FakeOpenAi"
import { Effect } from "effect"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as Google from "../src/Google.js"
import * as OpenAi from "../src/OpenAi.js"
import { adapterOver, collect, ctxOf, keyOf, live, modelOf } from "./internal/fixtures.js"

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")

/** A dollar per million tokens, in pico-dollars per token. */
const usd = (tokens: number, perMillion: number) => tokens * Math.round(perMillion * 1_000_000)

const withAudio: Partial<ChatRequest> = {
  messages: [{
    role: "user",
    content: [
      { type: "text", text: "what does the speaker say?" },
      { type: "input_audio", input_audio: { data: "UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA=".repeat(20), format: "wav" } }
    ]
  }]
}

/** The usage of the complete answer and of the streamed one. */
const usagesOf = (provider: Provider, ctx: CallContext) =>
  Effect.gen(function*() {
    const whole = (yield* provider.chat(ctx)).response.usage
    const streamed = (yield* collect((yield* provider.stream(ctx)).chunks)).flatMap((c) => (c.usage != null ? [c.usage] : []))
    return [whole, streamed[0]!] as const
  })

describe("audio input is priced at its own price", () => {
  it.scoped("Gemini: the AUDIO tokens of promptTokensDetails, at the shipped gemini-2.5-flash's audio price, whole and streamed", () =>
    live(Effect.gen(function*() {
      const models = yield* loadFile(path.join(repoRoot, "config/models.json"))
      const flash = models.find((m) => m.id === "gemini-2.5-flash")!
      const { provider } = yield* adapterOver(FakeGoogle.make, Google.make)({})
      for (const usage of yield* usagesOf(provider, ctxOf(modelOf("google", "gemini-2.5-flash"), keyOf("google", FakeGoogle.defaultApiKey), withAudio))) {
        const audio = usage.prompt_tokens_details?.audio_tokens ?? 0
        assert.isAbove(audio, 100, "the audio part's tokens")
        assert.isBelow(audio, usage.prompt_tokens)
        const cost = computeCost(flash.pricing, tokenUsageOf(usage))
        const billed = usd(usage.prompt_tokens - audio, 0.3) + usd(audio, 1) + usd(usage.completion_tokens, 2.5)
        assert.strictEqual(cost, billed, `charged $${cost / 1e12} where Google bills $${billed / 1e12}`)
      }
    }).pipe(Effect.provide(NodeContext.layer))))

  it.scoped("Gemini: audio read from the cache at the shipped gemini-2.5-flash's cached audio price, the cached text at the cached price", () =>
    live(Effect.gen(function*() {
      const models = yield* loadFile(path.join(repoRoot, "config/models.json"))
      const flash = models.find((m) => m.id === "gemini-2.5-flash")!
      const { provider } = yield* adapterOver(FakeGoogle.make, Google.make)({}, { usage: { cached: 125, cachedAudio: 120 } })
      for (const usage of yield* usagesOf(provider, ctxOf(modelOf("google", "gemini-2.5-flash"), keyOf("google", FakeGoogle.defaultApiKey), withAudio))) {
        const audio = usage.prompt_tokens_details?.audio_tokens ?? 0
        assert.isAbove(audio, 120, "the audio part's tokens")
        assert.strictEqual(usage.prompt_tokens_details?.cached_tokens, 125)
        assert.strictEqual(usage.prompt_tokens_details?.cached_audio_tokens, 120)
        const cost = computeCost(flash.pricing, tokenUsageOf(usage))
        // Fresh: the prompt less its 125 cached tokens, of which audio less its 120 cached; cached: 5 text, 120 audio.
        const text = usage.prompt_tokens - audio
        assert.isAbove(text, 5, "the text part's tokens")
        const billed = usd(text - 5, 0.3) + usd(audio - 120, 1) + usd(5, 0.03) + usd(120, 0.1) +
          usd(usage.completion_tokens, 2.5)
        assert.strictEqual(cost, billed, `charged $${cost / 1e12} where Google bills $${billed / 1e12}`)
      }
    }).pipe(Effect.provide(NodeContext.layer))))

  it.scoped("OpenAI: prompt_tokens_details.audio_tokens at the model's audio price, whole and streamed", () =>
    live(Effect.gen(function*() {
      const pricing = Pricing.make({ inputPerMillion: 2.5, outputPerMillion: 10, cachedInputPerMillion: 1.25, audioInputPerMillion: 40 })
      const { provider } = yield* adapterOver(FakeOpenAi.make, OpenAi.make, (f) => f.baseUrl)({}, { usage: { audio: 12, cached: 2 } })
      const usages: ReadonlyArray<Usage> = yield* usagesOf(provider, ctxOf(modelOf("openai", "gpt-4o"), keyOf("openai", "sk-test-openai"), {
        messages: [{ role: "user", content: "what did the speaker in the recording I sent a minute ago say about the weather?" }]
      }))
      for (const usage of usages) {
        assert.strictEqual(usage.prompt_tokens_details?.audio_tokens, 12)
        const cost = computeCost(pricing, tokenUsageOf(usage))
        assert.strictEqual(cost, usd(usage.prompt_tokens - 14, 2.5) + usd(2, 1.25) + usd(12, 40) + usd(usage.completion_tokens, 10))
      }
    })))
})
