import { assert, describe, it } from "@effect/vitest"
import type { ChatRequest } from "@modelgate/domain/Chat"
import { ModelMetadata } from "@modelgate/domain/Model"
import { Schema } from "effect"
import { encodeChat } from "gpt-tokenizer/encoding/o200k_base"
import * as TokenEstimator from "../src/TokenEstimator.js"

const model = (provider: string, providerModel: string, maxOutputTokens = 16_384) =>
  Schema.decodeUnknownSync(ModelMetadata)({
    id: `${provider}-${providerModel}`,
    provider,
    providerModel,
    displayName: providerModel,
    capabilities: ["chat"],
    contextWindow: 128_000,
    maxOutputTokens,
    pricing: { inputPerMillion: 1, outputPerMillion: 2 },
    rateLimits: { rpm: 100, tpm: 100_000 },
    qualityTier: "standard",
    qualityScore: 0.8
  })

const request = (messages: ChatRequest["messages"], extra: Partial<ChatRequest> = {}): ChatRequest => ({
  model: "x",
  messages,
  ...extra
})

describe("TokenEstimator", () => {
  it("picks the encoding by model family", () => {
    assert.strictEqual(TokenEstimator.encodingFor(model("openai", "gpt-4o-mini")), "o200k_base")
    assert.strictEqual(TokenEstimator.encodingFor(model("openai", "gpt-4.1")), "o200k_base")
    assert.strictEqual(TokenEstimator.encodingFor(model("openai", "o3-mini")), "o200k_base")
    assert.strictEqual(TokenEstimator.encodingFor(model("openai", "gpt-4-turbo")), "cl100k_base")
    assert.strictEqual(TokenEstimator.encodingFor(model("openai", "gpt-3.5-turbo")), "cl100k_base")
    assert.strictEqual(TokenEstimator.encodingFor(model("anthropic", "claude-sonnet-4-5")), "heuristic")
    assert.strictEqual(TokenEstimator.encodingFor(model("ollama", "llama3.2")), "heuristic")
  })

  it("counts OpenAI chat prompts exactly as the o200k chat encoding does", () => {
    const messages = [
      { role: "system", content: "You are a terse assistant." },
      { role: "user", content: "Summarise the plot of Hamlet in one sentence, please." },
      { role: "assistant", content: "A prince avenges his father and everyone dies." },
      { role: "user", content: "And Macbeth?" }
    ] as const
    const expected = encodeChat(messages, "gpt-4o").length
    const estimated = TokenEstimator.estimatePromptTokens(request(messages), model("openai", "gpt-4o"))
    assert.strictEqual(estimated, expected)
  })

  it("estimates other providers as characters / 4 plus per-message framing", () => {
    const text = "a".repeat(400)
    const estimated = TokenEstimator.estimatePromptTokens(
      request([{ role: "user", content: text }]),
      model("anthropic", "claude-sonnet-4-5")
    )
    // 3 reply + (4 framing + 1 role + 100 text)
    assert.strictEqual(estimated, 108)
  })

  it("counts images, tools and text parts", () => {
    const m = model("openai", "gpt-4o")
    const plain = TokenEstimator.estimatePromptTokens(request([{ role: "user", content: "what is this?" }]), m)
    const withImage = TokenEstimator.estimatePromptTokens(
      request([
        {
          role: "user",
          content: [
            { type: "text", text: "what is this?" },
            { type: "image_url", image_url: { url: "https://example.com/x.png", detail: "low" } }
          ]
        }
      ]),
      m
    )
    assert.strictEqual(withImage, plain + 85)
    const withTools = TokenEstimator.estimatePromptTokens(
      request([{ role: "user", content: "what is this?" }], {
        tools: [{ type: "function", function: { name: "lookup", description: "Look a thing up", parameters: { type: "object" } } }]
      }),
      m
    )
    assert.isAbove(withTools, plain + 10)
  })

  it("counts a tool result's id as OpenAI is sent it: at most 40 characters (Gemini's ids carry a few-KB thought signature)", () => {
    const toolLoop = (id: string) =>
      request([
        { role: "user", content: "weather in Paris?" },
        { role: "assistant", content: null, tool_calls: [{ id, type: "function", function: { name: "get_weather", arguments: "{\"city\":\"Paris\"}" } }] },
        { role: "tool", tool_call_id: id, content: "18C" }
      ])
    const signed = `call_resp-1_0_0__ts_${"Ab9_-x".repeat(700)}`
    const m = model("openai", "gpt-4o")
    // OpenAI is sent a 40-character stand-in for it (its longest id)
    assert.strictEqual(TokenEstimator.estimatePromptTokens(toolLoop(signed), m), TokenEstimator.estimatePromptTokens(toolLoop(signed.slice(0, 40)), m))
    // other providers are sent the whole id
    const claude = model("anthropic", "claude-sonnet-4-5")
    assert.isAbove(TokenEstimator.estimatePromptTokens(toolLoop(signed), claude), TokenEstimator.estimatePromptTokens(toolLoop("call_1"), claude) + 1_000)
  })

  it("adds the requested maximum output, or the default capped by the model", () => {
    const messages = [{ role: "user", content: "hi" }] as const
    const m = model("openai", "gpt-4o", 16_384)
    const prompt = TokenEstimator.estimatePromptTokens(request(messages), m)
    assert.strictEqual(TokenEstimator.estimateTokens(request(messages), m), prompt + 1024)
    assert.strictEqual(TokenEstimator.estimateTokens(request(messages, { max_tokens: 300 }), m), prompt + 300)
    assert.strictEqual(
      TokenEstimator.estimateTokens(request(messages, { max_tokens: 300, max_completion_tokens: 50 }), m),
      prompt + 50
    )
    assert.strictEqual(TokenEstimator.estimateTokens(request(messages, { max_tokens: 100, n: 3 }), m), prompt + 300)
    const small = model("anthropic", "claude-haiku", 512)
    assert.strictEqual(
      TokenEstimator.estimateTokens(request(messages), small),
      TokenEstimator.estimatePromptTokens(request(messages), small) + 512
    )
  })
})
