/**
 * The context-window check of an `auto` request, ranked before a model (and
 * so a tokenizer) is known: a prompt that does not fit a model's context
 * window plus its output never goes to it, and one that fits is not ruled
 * out. The estimate counts what a provider counts: tool definitions are
 * tokens; an inline image is an image (TokenEstimator: at most 1,600 tokens),
 * not the characters of its base64 `data:` URL; Chinese text is about a token
 * a character, not four characters a token.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ChatRequest } from "@modelgate/domain/Chat"
import { Effect } from "effect"
import { selectionInputOf } from "../src/ModelSelector/RequestInput.js"
import { model, setupSelector } from "./RoutingFixtures.js"

const requirements = { capabilities: [], priority: "MEDIUM" } as const

describe("ModelSelector: the context window of an auto request", () => {
  it.effect("an inline image counts as an image, not as its base64 characters", () =>
    Effect.gen(function*() {
      const { selector } = yield* setupSelector([
        model("small-vision", { capabilities: ["chat", "vision"], contextWindow: 128_000 }),
        model("large-vision", { capabilities: ["chat", "vision"], contextWindow: 1_000_000 })
      ])
      // A 750 KB photo: 1 MB of base64, 250,000 characters / 4.
      const photo = `data:image/jpeg;base64,${"A".repeat(1_000_000)}`
      const request: ChatRequest = {
        model: "auto",
        messages: [{ role: "user", content: [{ type: "text", text: "What is in this photo?" }, { type: "image_url", image_url: { url: photo } }] }]
      }
      const ranking = yield* selector.rank(selectionInputOf(request, requirements, undefined, undefined))
      assert.deepStrictEqual(ranking.ranked.map((s) => s.model.id).sort(), ["large-vision", "small-vision"])
      assert.deepStrictEqual(ranking.excluded, [])
    }))

  it.effect("tool definitions count toward the prompt", () =>
    Effect.gen(function*() {
      const { selector } = yield* setupSelector([
        model("small", { contextWindow: 8_000 }),
        model("large", { contextWindow: 128_000 })
      ])
      // 40 tools with 1,000-character descriptions: ~10,000 tokens of definitions.
      const tools = Array.from({ length: 40 }, (_, i) => ({
        type: "function" as const,
        function: { name: `tool_${i}`, description: "d".repeat(1_000), parameters: { type: "object", properties: {} } }
      }))
      const request: ChatRequest = { model: "auto", messages: [{ role: "user", content: "hi" }], tools }
      const ranking = yield* selector.rank(selectionInputOf(request, requirements, undefined, undefined))
      assert.deepStrictEqual(ranking.ranked.map((s) => s.model.id), ["large"])
      assert.include(ranking.excluded.find((e) => e.model === "small")?.reason, "context window 8000 <")
    }))

  it.effect("a Chinese prompt counts about a token a character: one larger than a window goes to the larger model", () =>
    Effect.gen(function*() {
      const { selector } = yield* setupSelector([
        model("small", { provider: "anthropic", providerModel: "claude-small", contextWindow: 8_000 }),
        model("large", { provider: "anthropic", providerModel: "claude-large", contextWindow: 200_000 })
      ])
      // 10,000 characters of Chinese: Claude counts about 10,000 tokens (not 2,500) with the 1,024 of output.
      const request: ChatRequest = { model: "auto", messages: [{ role: "user", content: "北京是中国的首都。".repeat(1_112) }] }
      const ranking = yield* selector.rank(selectionInputOf(request, requirements, undefined, undefined))
      assert.deepStrictEqual(ranking.ranked.map((s) => s.model.id), ["large"])
      assert.include(ranking.excluded.find((e) => e.model === "small")?.reason, "context window 8000 <")
    }))
})
