/**
 * `maxCostUsd` (README: "rules out every model whose worst case costs
 * more"): the worst case of the request as it is sent, the same amount the
 * gateway holds against budgets. Without `max_tokens` a provider may answer
 * up to the model's own output limit (Anthropic is sent that limit), and a
 * request with prompt cache writes may pay the write price for its whole
 * prompt.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ChatRequest } from "@modelgate/domain/Chat"
import type { TaskRequirements } from "@modelgate/domain/Requirements"
import { Effect } from "effect"
import { selectionInputOf } from "../src/ModelSelector/RequestInput.js"
import { model, setupSelector } from "./RoutingFixtures.js"

const requirements = (maxCostPerRequestUsd: number): TaskRequirements => ({ capabilities: [], priority: "MEDIUM", maxCostPerRequestUsd })

describe("ModelSelector maxCostPerRequestUsd", () => {
  it.effect("without max_tokens, a model whose whole output limit costs more than the cap is ruled out", () =>
    Effect.gen(function*() {
      // $5 per million output tokens, prompt free: 1,024 tokens (the estimator's default) cost $0.00512,
      // the model's 64,000-token limit $0.32, which the provider may bill.
      const pricing = { inputPerMillion: 0, outputPerMillion: 5 }
      const { selector } = yield* setupSelector([
        model("long", { provider: "anthropic", maxOutputTokens: 64_000, pricing }),
        model("short", { provider: "anthropic", maxOutputTokens: 1_500, pricing })
      ])
      const request: ChatRequest = { model: "auto", messages: [{ role: "user", content: "hi" }] }
      const ranking = yield* selector.rank(selectionInputOf(request, requirements(0.01), undefined, undefined))
      assert.deepStrictEqual(ranking.ranked.map((s) => s.model.id), ["short"])
      assert.include(ranking.excluded.find((e) => e.model === "long")?.reason, "worst-case cost $0.320000 (prompt 9 + output 64000 tokens) exceeds maxCostPerRequestUsd")
      // With max_tokens named, the worst case is that output.
      const capped = yield* selector.rank(selectionInputOf({ ...request, max_tokens: 1_000 }, requirements(0.01), undefined, undefined))
      assert.deepStrictEqual(capped.ranked.map((s) => s.model.id).sort(), ["long", "short"])
    }))

  it.effect("a request with a cache breakpoint is capped at its prompt written to the cache", () =>
    Effect.gen(function*() {
      // Input $1 per million, cache writes $10 per million (1h); output free.
      const { selector } = yield* setupSelector([
        model("writes", {
          provider: "anthropic",
          pricing: { inputPerMillion: 1, outputPerMillion: 0, cacheWriteInputPerMillion: 10, cacheWriteHourInputPerMillion: 10 }
        })
      ])
      const text = "x".repeat(40_000) // ~10,000 prompt tokens: $0.01 at the input price, $0.10 written
      const request: ChatRequest = {
        model: "auto",
        max_tokens: 10,
        messages: [{ role: "user", content: [{ type: "text", text, cache_control: { type: "ephemeral" } }] }]
      }
      const ranking = yield* selector.rank(selectionInputOf(request, requirements(0.05), undefined, undefined))
      assert.deepStrictEqual(ranking.ranked.map((s) => s.model.id), [])
      assert.include(ranking.excluded[0]?.reason, "exceeds maxCostPerRequestUsd")
    }))
})
