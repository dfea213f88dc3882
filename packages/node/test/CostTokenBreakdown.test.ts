/**
 * A cost record keeps the breakdown of the tokens its cost includes, as the
 * provider reported them: Anthropic's prompt-cache writes
 * (`cache_creation_input_tokens`) and OpenAI's reasoning tokens
 * (`completion_tokens_details.reasoning_tokens`). The stored costs (SQLite,
 * through `CostTracker.costs`, what `/admin/costs` and `modelgate costs`
 * show) sum them per group, while the prompt and completion totals and the
 * cost stay those of the answer (a breakdown, never counted twice).
 *
 * The fakes answer over real sockets (live clock).
 */
import { assert, describe, it } from "@effect/vitest"
import { CostTracker } from "@modelgate/core/CostTracker"
import { Gateway } from "@modelgate/core/Gateway"
import type { ChatRequest } from "@modelgate/domain/Chat"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Effect } from "effect"
import { ask, models, poll, stack } from "./fixture.js"

const rules = "Answer as the house style guide says. ".repeat(200)
const cachedAsk: ChatRequest = {
  model: "claude-haiku",
  messages: [
    { role: "system", content: [{ type: "text", text: rules, cache_control: { type: "ephemeral" } }] },
    { role: "user", content: "a question" }
  ]
}

const pico = (usd: number | undefined): bigint => BigInt(Math.round((usd ?? 0) * 1e12))

describe("cost records keep cache writes and reasoning tokens apart", () => {
  it.scopedLive("Anthropic's cache writes and OpenAI's reasoning reach the stored costs, summed per model, totals and cost unchanged", () =>
    Effect.gen(function* () {
      const registry = models()
      const pricing = { inputPerMillion: 1, outputPerMillion: 5, cachedInputPerMillion: 0.1, cacheWriteInputPerMillion: 1.25 }
      const s = yield* stack({
        models: { ...registry, models: [registry.models[0]!, { ...registry.models[1]!, pricing }] },
        gateway: { cache: { enabled: false } },
        openAiUsage: { reasoning: 40 }
      })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const costs = yield* CostTracker
        const reasoned = [yield* gateway.complete(ask("think first"), defaultRequirements), yield* gateway.complete(ask("think again"), defaultRequirements)]
        const written = yield* gateway.complete(cachedAsk, defaultRequirements)
        const writes = written.response.usage.prompt_tokens_details?.cache_creation_tokens ?? 0
        assert.isAbove(writes, 1_000)
        for (const r of reasoned) assert.strictEqual(r.response.usage.completion_tokens_details?.reasoning_tokens, 40)

        const groups = yield* poll(
          costs.costs({ groupBy: "model" }),
          (gs) => gs.reduce((n, g) => n + g.requests, 0) === 3,
          5_000,
          "the three cost records stored"
        )
        const byModel = new Map(groups.map((g) => [g.key, g]))
        const openai = byModel.get("gpt-4o-mini")!
        const anthropic = byModel.get("claude-haiku")!
        assert.deepStrictEqual(
          [openai.reasoningTokens, openai.cacheWriteTokens, anthropic.cacheWriteTokens, anthropic.reasoningTokens],
          [80, 0, writes, 0]
        )
        // The breakdown is inside the totals, which stay the answers' own; so does the cost.
        const sum = (rs: ReadonlyArray<typeof written>, f: (r: typeof written) => number) => rs.reduce((n, r) => n + f(r), 0)
        assert.deepStrictEqual(
          [openai.promptTokens, openai.completionTokens, anthropic.promptTokens, anthropic.completionTokens],
          [
            sum(reasoned, (r) => r.response.usage.prompt_tokens),
            sum(reasoned, (r) => r.response.usage.completion_tokens),
            written.response.usage.prompt_tokens,
            written.response.usage.completion_tokens
          ]
        )
        assert.strictEqual(openai.costPicoUsd, pico(reasoned[0]!.meta.costUsd) + pico(reasoned[1]!.meta.costUsd))
        assert.strictEqual(anthropic.costPicoUsd, pico(written.meta.costUsd))
      }).pipe(Effect.provide(s.layer))
    }))
})
