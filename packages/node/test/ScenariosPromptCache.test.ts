/**
 * Scenario: Anthropic prompt caching through the gateway. A client marks a
 * long system prompt with `cache_control` (the OpenAI shape as LiteLLM and
 * OpenRouter take it); Anthropic writes the prefix to its cache on the first
 * call and reads it on the next. The gateway sends the breakpoint, and costs
 * each call exactly: writes at the model's cache-write price (its one-hour
 * price for `ttl: "1h"`), reads at its cache-read price. The fake keeps a prompt cache as Anthropic does.
 *
 * The fakes answer over real sockets (live clock).
 */
import { assert, describe, it } from "@effect/vitest"
import { computeCost } from "@modelgate/core/CostTracker"
import { estimateOutputTokens, estimatePromptTokens } from "@modelgate/core/TokenEstimator"
import { Gateway } from "@modelgate/core/Gateway"
import type { ChatRequest } from "@modelgate/domain/Chat"
import { ModelMetadata } from "@modelgate/domain/Model"
import { toUsd } from "@modelgate/domain/Money"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Effect, Either, Schema } from "effect"
import { models, stack } from "./fixture.js"

const rules = "Answer as the house style guide says. ".repeat(200)
const ask = (question: string, ttl?: "1h"): ChatRequest => ({
  model: "claude-haiku",
  messages: [
    { role: "system", content: [{ type: "text", text: rules, cache_control: { type: "ephemeral", ...(ttl !== undefined ? { ttl } : {}) } }] },
    { role: "user", content: question }
  ]
})

describe("Scenario: Anthropic prompt caching", () => {
  it.scopedLive("the breakpoint reaches Anthropic; the first call's cache write and the next call's cache read are each priced as the registry says", () =>
    Effect.gen(function* () {
      const registry = models()
      const pricing = { inputPerMillion: 1, outputPerMillion: 5, cachedInputPerMillion: 0.1, cacheWriteInputPerMillion: 1.25, cacheWriteHourInputPerMillion: 2 }
      const haiku = { ...registry.models[1]!, pricing }
      const s = yield* stack({ models: { ...registry, models: [registry.models[0]!, haiku] } })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const first = yield* gateway.complete(ask("first question"), defaultRequirements)
        const sent = (yield* s.anthropic.requests).at(-1)!.json as { system: ReadonlyArray<{ cache_control?: unknown }> }
        assert.deepStrictEqual(sent.system[0]!.cache_control, { type: "ephemeral" })
        const written = first.response.usage!.prompt_tokens_details!
        assert.isAbove(written.cache_creation_tokens ?? 0, 1_000)
        assert.strictEqual(written.cached_tokens, 0)

        const second = yield* gateway.complete(ask("second question"), defaultRequirements)
        const read = second.response.usage!.prompt_tokens_details!
        assert.strictEqual(read.cached_tokens, written.cache_creation_tokens)
        assert.strictEqual(read.cache_creation_tokens, 0)

        // Each call's cost is the registry's price of its own tokens: writes at $1.25, reads at $0.10 per million.
        const costOf = (usage: NonNullable<typeof first.response.usage>) =>
          toUsd(computeCost(pricing, {
            promptTokens: usage.prompt_tokens,
            completionTokens: usage.completion_tokens,
            cachedTokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
            cacheWriteTokens: usage.prompt_tokens_details?.cache_creation_tokens,
            cacheWriteHourTokens: usage.prompt_tokens_details?.cache_creation_1h_tokens
          }))
        assert.strictEqual(first.meta.costUsd, costOf(first.response.usage!))
        assert.strictEqual(second.meta.costUsd, costOf(second.response.usage!))
        // A write costs more than the same tokens fresh; a read far less.
        const fresh = (usage: NonNullable<typeof first.response.usage>) =>
          toUsd(computeCost({ inputPerMillion: 1, outputPerMillion: 5 }, { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens, cachedTokens: 0 }))
        assert.isAbove(first.meta.costUsd!, fresh(first.response.usage!))
        assert.isBelow(second.meta.costUsd!, fresh(second.response.usage!) / 2)

        // A one-hour breakpoint (another prefix: a new write) is priced at the one-hour write price, $2 per million.
        const hourly = yield* gateway.complete({ ...ask("third question", "1h"), model: "claude-haiku" }, defaultRequirements)
        const details = hourly.response.usage!.prompt_tokens_details!
        assert.isAbove(details.cache_creation_1h_tokens ?? 0, 1_000)
        assert.strictEqual(details.cache_creation_1h_tokens, details.cache_creation_tokens)
        assert.strictEqual(hourly.meta.costUsd, costOf(hourly.response.usage!))
        assert.isAbove(hourly.meta.costUsd!, first.meta.costUsd!)
      }).pipe(Effect.provide(s.layer))
    }))

  it.scopedLive("a request that asks for cache writes reserves budget for them: refused where its fresh price would fit but its writes would not, with no call", () =>
    Effect.gen(function* () {
      const registry = models()
      const pricing = { inputPerMillion: 1, outputPerMillion: 5, cachedInputPerMillion: 0.1, cacheWriteInputPerMillion: 1.25 }
      const haiku = { ...registry.models[1]!, pricing }
      const model = Schema.decodeUnknownSync(ModelMetadata)(haiku)
      // An explicit max_tokens: without one the reservation covers the model's whole output limit (BudgetWorstCaseConcurrent.test.ts).
      const request: ChatRequest = { ...ask("budgeted question"), max_tokens: 1024 }
      const prompt = estimatePromptTokens(request, model)
      const output = estimateOutputTokens(request, model)
      const fresh = toUsd(computeCost(pricing, { promptTokens: prompt, completionTokens: output, cachedTokens: 0 }))
      const withWrites = toUsd(computeCost(pricing, { promptTokens: prompt, completionTokens: output, cachedTokens: 0, cacheWriteTokens: prompt }))
      assert.isBelow(fresh, withWrites)
      const s = yield* stack({
        models: { ...registry, models: [registry.models[0]!, haiku] },
        gateway: { cache: { enabled: false }, budgets: { global: { daily: (fresh + withWrites) / 2 } } }
      })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const refused = yield* Effect.either(gateway.complete(request, defaultRequirements))
        assert.isTrue(Either.isLeft(refused) && refused.left._tag === "BudgetExceeded")
        assert.strictEqual((yield* s.anthropic.requests).length, 0)
        // The same prompt without a breakpoint fits the budget.
        const plain: ChatRequest = { ...request, messages: [{ role: "system", content: rules }, { role: "user", content: "budgeted question" }] }
        const answered = yield* gateway.complete(plain, defaultRequirements)
        assert.strictEqual(answered.meta.model, "claude-haiku")
      }).pipe(Effect.provide(s.layer))
    }))
})
