/**
 * A provider call that failed after the provider answered it whole, and
 * billed it (the error carries the usage: `ProviderError.usage`, e.g.
 * Gemini's MALFORMED_FUNCTION_CALL), is charged once, and the failover's
 * next answer is charged as well; a call that failed before any answer (no
 * usage) costs nothing.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ChatResponse, Usage } from "@modelgate/domain/Chat"
import { MalformedResponse, ServerError } from "@modelgate/domain/ProviderError"
import { Effect, Stream } from "effect"
import { computeCost, CostTracker } from "../src/CostTracker.js"
import { Gateway } from "../src/Gateway.js"
import { BudgetLimit, BudgetsConfig } from "../src/GatewayConfigSchema.js"
import type { Provider } from "../src/Provider.js"
import { textChunk } from "./ChunkFixtures.js"
import { ask, costRecords, costStack, requirements } from "./CostStack.js"
import { model } from "./RoutingFixtures.js"

const pricing = { inputPerMillion: 0.3, outputPerMillion: 2.5, cachedInputPerMillion: 0.03 }
const billedUsage: Usage = {
  prompt_tokens: 5_000,
  completion_tokens: 340,
  total_tokens: 5_340,
  prompt_tokens_details: { cached_tokens: 1_000 },
  completion_tokens_details: { reasoning_tokens: 300 }
}
const answered: Usage = { prompt_tokens: 5_000, completion_tokens: 60, total_tokens: 5_060 }

const response = (modelId: string): ChatResponse => ({
  id: "up",
  object: "chat.completion",
  created: 0,
  model: modelId,
  choices: [{ index: 0, message: { role: "assistant", content: "Here you are." }, finish_reason: "stop" }],
  usage: answered
})

/** "malformed" answers whole but unusably (billed), "down" fails with no answer, "steady" answers. */
const provider: Provider = {
  id: "google",
  requiresKey: false,
  chat: (ctx) =>
    ctx.model.id === "malformed"
      ? Effect.fail(new MalformedResponse({ provider: "google", model: "malformed", status: 200, detail: "unusable finishReason MALFORMED_FUNCTION_CALL", usage: billedUsage }))
      : ctx.model.id === "down"
      ? Effect.fail(new ServerError({ provider: "google", model: "down", status: 500, detail: "scripted" }))
      : Effect.succeed({ response: response(ctx.model.providerModel), rateLimit: undefined, providerRequestId: undefined }),
  stream: (ctx) =>
    ctx.model.id === "malformed"
      ? Effect.fail(new MalformedResponse({ provider: "google", model: "malformed", status: 200, detail: "unusable finishReason MALFORMED_FUNCTION_CALL", usage: billedUsage }))
      : ctx.model.id === "down"
      ? Effect.fail(new ServerError({ provider: "google", model: "down", status: 500, detail: "scripted" }))
      : Effect.succeed({
        chunks: Stream.fromIterable([textChunk("Here you are."), textChunk(undefined, "stop", { prompt: 5_000, completion: 60 })]),
        rateLimit: undefined,
        providerRequestId: undefined
      }),
  probe: () => Effect.succeed({ ok: true, latencyMs: 0, error: undefined })
}

const models = [
  model("malformed", { provider: "google", pricing, qualityScore: 0.99, fallbacks: ["down", "steady"] }),
  model("down", { provider: "google", pricing, qualityScore: 0.9 }),
  model("steady", { provider: "google", pricing, qualityScore: 0.5 })
]
const budgets = BudgetsConfig.make({ global: BudgetLimit.make({ daily: 100 }) })

describe("Cost of a failed call the provider billed", () => {
  it.effect("charged once, beside the failover's answer; a failure without an answer costs nothing", () =>
    Effect.gen(function* () {
      const gateway = yield* Gateway
      const costs = yield* CostTracker
      const answer = yield* gateway.complete(ask("malformed", "call the tool"), requirements)
      assert.strictEqual(answer.meta.model, "steady")
      const failedCost = computeCost(pricing, { promptTokens: 5_000, completionTokens: 340, cachedTokens: 1_000 })
      const answerCost = computeCost(pricing, { promptTokens: 5_000, completionTokens: 60, cachedTokens: 0 })
      const records = yield* costRecords
      assert.deepStrictEqual(
        records.map((r) => [r.model, r.costPicoUsd]),
        [["malformed", failedCost], ["steady", answerCost]],
        "the billed failure is recorded, the unbilled one is not"
      )
      assert.strictEqual(answer.meta.costUsd, (failedCost + answerCost) / 1e12, "the request's cost: both billed answers")
      const day = (yield* costs.budgetStatus).find((b) => b.budget === "global" && b.period === "daily")
      assert.deepStrictEqual([day?.reservedPicoUsd, day?.spentPicoUsd], [0n, BigInt(failedCost + answerCost)])
    }).pipe(Effect.provide(costStack(models, provider, { budgets }))))

  it.effect("a streamed answer after a billed failure: the stream's settled cost includes the failure's", () =>
    Effect.gen(function* () {
      const gateway = yield* Gateway
      const answer = yield* gateway.stream(ask("malformed", "call the tool", { stream: true }), requirements)
      assert.strictEqual(answer.meta.model, "steady")
      yield* Stream.runDrain(answer.chunks)
      const failedCost = computeCost(pricing, { promptTokens: 5_000, completionTokens: 340, cachedTokens: 1_000 })
      const answerCost = computeCost(pricing, { promptTokens: 5_000, completionTokens: 60, cachedTokens: 0 })
      assert.deepStrictEqual((yield* costRecords).map((r) => [r.model, r.costPicoUsd]), [["malformed", failedCost], ["steady", answerCost]])
      assert.strictEqual(answer.settledCostUsd?.(), (failedCost + answerCost) / 1e12)
    }).pipe(Effect.provide(costStack(models, provider, { budgets }))))
})
