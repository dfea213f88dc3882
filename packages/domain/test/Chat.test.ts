import { assert, describe, it } from "@effect/vitest"
import { ChatRequest } from "@modelgate/domain/Chat"
import { ModelMetadata } from "@modelgate/domain/Model"
import { tokenCost, toUsd } from "@modelgate/domain/Money"
import { Effect, Either, Schema } from "effect"
import * as fc from "fast-check"

describe("ChatRequest", () => {
  it.effect("decodes an OpenAI request with tools and parts", () =>
    Effect.gen(function* () {
      const request = yield* Schema.decodeUnknown(ChatRequest)({
        model: "auto",
        messages: [
          { role: "system", content: "be brief" },
          { role: "user", content: [{ type: "text", text: "hi" }, { type: "image_url", image_url: { url: "https://x/y.png" } }] },
          { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }] },
          { role: "tool", tool_call_id: "c1", content: "42" }
        ],
        tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }],
        temperature: 0.2,
        stream: true,
        stream_options: { include_usage: true }
      })
      assert.strictEqual(request.messages.length, 4)
      assert.strictEqual(request.tools?.[0]?.function.name, "f")
    }))

  it("rejects an empty message list and names the field", () => {
    const result = Schema.decodeUnknownEither(ChatRequest)({ model: "auto", messages: [] })
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) assert.include(String(result.left), "messages")
  })

  it("rejects a temperature out of range", () => {
    const result = Schema.decodeUnknownEither(ChatRequest)({
      model: "m",
      messages: [{ role: "user", content: "x" }],
      temperature: 3
    })
    assert.isTrue(Either.isLeft(result))
  })
})

describe("ModelMetadata", () => {
  it("applies defaults and round-trips through JSON", () => {
    const input = {
      id: "m1",
      provider: "openai",
      providerModel: "gpt-x",
      displayName: "GPT X",
      capabilities: ["chat", "tools"],
      contextWindow: 128000,
      maxOutputTokens: 16384,
      pricing: { inputPerMillion: 0.15, outputPerMillion: 0.6 },
      rateLimits: { rpm: 500, tpm: 200000 },
      qualityTier: "standard",
      qualityScore: 0.7
    }
    const model = Schema.decodeUnknownSync(ModelMetadata)(input)
    assert.isTrue(model.enabled)
    assert.deepStrictEqual(model.fallbacks, [])
    const again = Schema.decodeUnknownSync(ModelMetadata)(JSON.parse(JSON.stringify(Schema.encodeSync(ModelMetadata)(model))))
    assert.deepStrictEqual(again, model)
  })
})

describe("Money", () => {
  it("costs are exact integers in pico-dollars for prices with up to six decimals", () =>
    fc.assert(
      fc.property(fc.nat({ max: 10_000_000 }), fc.integer({ min: 0, max: 100_000_000 }), (tokens, micro) => {
        const price = micro / 1_000_000
        const cost = tokenCost(tokens, price)
        return Number.isSafeInteger(cost) && cost === tokens * micro && Math.abs(toUsd(cost) - (tokens * price) / 1e6) < 1e-9
      }),
      { numRuns: 200 }
    ))
})
