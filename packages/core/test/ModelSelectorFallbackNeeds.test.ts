/**
 * A named model is served as named (the caller knows it), but its fallbacks
 * are the operator's: a fallback that lacks what the request's content needs
 * (an image part needs vision, offered tools need tools, a JSON
 * response_format json_mode) is skipped, as `auto` would skip it. Sent the
 * images, a text-only model answers a 400 (ending the request) or, on a
 * local model, an answer that never saw them.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ChatRequest } from "@modelgate/domain/Chat"
import type { TaskRequirements } from "@modelgate/domain/Requirements"
import { Effect } from "effect"
import { selectionInputOf } from "../src/ModelSelector/RequestInput.js"
import { model, setupSelector } from "./RoutingFixtures.js"

const requirements: TaskRequirements = { capabilities: [], priority: "MEDIUM" }

const withImage: ChatRequest = {
  model: "named",
  messages: [{
    role: "user",
    content: [{ type: "text", text: "what is in this picture?" }, { type: "image_url", image_url: { url: "https://example.com/cat.png" } }]
  }]
}

const tools: ChatRequest["tools"] = [{ type: "function", function: { name: "get_weather", parameters: { type: "object" } } }]

describe("ModelSelector: a named model's fallbacks", () => {
  it.effect("a fallback without vision is skipped for a request with an image; the named model is not second-guessed", () =>
    Effect.gen(function*() {
      const named = model("named", { fallbacks: ["text-only", "sees"] })
      const { selector } = yield* setupSelector([
        named,
        model("text-only", { capabilities: ["chat", "streaming"] }),
        model("sees", { capabilities: ["chat", "streaming", "vision"] })
      ])
      const ranking = yield* selector.rank(selectionInputOf(withImage, requirements, named, undefined))
      assert.deepStrictEqual(ranking.ranked.map((s) => s.model.id), ["named", "sees"])
      assert.strictEqual(ranking.excluded.find((e) => e.model === "text-only")?.reason, "fallback lacks what the request needs: vision")
    }))

  it.effect("tools and a JSON response_format are needs too; tool_choice none and a text format are not", () =>
    Effect.gen(function*() {
      const named = model("named", { fallbacks: ["plain", "able"] })
      const { selector } = yield* setupSelector([
        named,
        model("plain", { capabilities: ["chat", "streaming"] }),
        model("able", { capabilities: ["chat", "streaming", "tools", "json_mode"] })
      ])
      const text: ChatRequest = { model: "named", messages: [{ role: "user", content: "hi" }] }
      const rank = (request: ChatRequest) =>
        Effect.map(selector.rank(selectionInputOf(request, requirements, named, undefined)), (r) => r.ranked.map((s) => s.model.id))
      assert.deepStrictEqual(yield* rank({ ...text, tools }), ["named", "able"])
      assert.deepStrictEqual(yield* rank({ ...text, response_format: { type: "json_object" } }), ["named", "able"])
      assert.deepStrictEqual(yield* rank({ ...text, tools, tool_choice: "none", response_format: { type: "text" } }), ["named", "plain", "able"])
    }))
})
