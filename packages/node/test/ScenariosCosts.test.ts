/**
 * Scenario: many requests -> exact cost aggregation -> budget alerts at 50% and
 * 80% -> a spent budget refuses before any provider call, while a cache hit
 * still serves; a per-model budget only moves requests to a cheaper model.
 * (That the refusal is the typed `BudgetExceeded` is asserted in
 * ScenariosBudgetExceeded.test.ts.)
 *
 * Time is `TestClock`, pinned at noon UTC, so every record lands on the same
 * day of the daily budgets; the fakes answer over real sockets. Failover
 * backoff is zero (nothing on the request path sleeps on the clock); the
 * record writer's flush interval is passed with `TestClock.adjust`.
 */
import { assert, describe, it } from "@effect/vitest"
import { CostTracker } from "@modelgate/core/CostTracker"
import type { AnswerMeta } from "@modelgate/core/Gateway"
import { Gateway } from "@modelgate/core/Gateway"
import { ModelSelector } from "@modelgate/core/ModelSelector"
import type { ChatResponse } from "@modelgate/domain/Chat"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Effect, Either, TestClock } from "effect"
import { ask, models, noonUtc, poll, recordEvents, stack } from "./fixture.js"

/** USD per million tokens -> pico-dollars per token, as integers. */
const prices: Record<string, { readonly input: bigint; readonly cached: bigint; readonly output: bigint }> = {
  "gpt-4o-mini": { input: 150_000n, cached: 75_000n, output: 600_000n },
  "claude-haiku": { input: 1_000_000n, cached: 100_000n, output: 5_000_000n }
}

/** The cost of an answer computed here from its usage and the registry prices. */
const costOf = (model: string, response: ChatResponse): bigint => {
  const p = prices[model]!
  const usage = response.usage
  const cached = BigInt(usage.prompt_tokens_details?.cached_tokens ?? 0)
  return (BigInt(usage.prompt_tokens) - cached) * p.input + cached * p.cached + BigInt(usage.completion_tokens) * p.output
}

const pico = (usd: number | undefined): bigint => BigInt(Math.round((usd ?? 0) * 1e12))

/** The stack's failover without backoff or queue: a sleep on the (unmoved) TestClock would stall a request. */
const failover = { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0 }

const chatCalls = (requests: ReadonlyArray<{ readonly path: string }>) => requests.filter((r) => r.path.endsWith("/chat/completions")).length

describe("Scenario: costs -> budget alerts -> budget spent", () => {
  it.scoped("aggregates costs exactly, alerts at 50% and 80%, refuses a spent budget without a provider call, serves cache hits", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(noonUtc)
      const s = yield* stack({
        gateway: {
          failover,
          cache: { enabled: true, cacheNonDeterministic: true },
          budgets: { global: { daily: 0.0005 }, alertThresholds: [0.5, 0.8, 1] }
        }
      })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const costs = yield* CostTracker
        const events = yield* recordEvents
        const answers: Array<{ response: ChatResponse; meta: AnswerMeta }> = []
        let refusal: unknown = undefined
        for (let i = 0; i < 200 && refusal === undefined; i++) {
          const model = i < 6 && i % 3 === 2 ? "claude-haiku" : "gpt-4o-mini"
          const result = yield* Effect.either(
            gateway.complete(ask(`budget question ${i}`, model, { max_tokens: 20 }), { ...defaultRequirements, agentType: "scenario" })
          )
          if (Either.isRight(result)) answers.push(result.right)
          else refusal = result.left
        }
        assert.isDefined(refusal, "the budget never refused a request")
        assert.isAtLeast(answers.length, 5)
        assert.isTrue(answers.every((a) => !a.meta.cacheHit && (a.meta.costUsd ?? 0) > 0))

        // the refusal named the budget and happened before any provider call
        assert.include((refusal as Error).message, "budget global (daily)")
        const calls = chatCalls(yield* s.openai.requests) + (yield* s.anthropic.requests).length
        assert.strictEqual(calls, answers.length)
        const again = yield* Effect.either(gateway.complete(ask("a new question", "gpt-4o-mini", { max_tokens: 20 }), defaultRequirements))
        assert.isTrue(Either.isLeft(again))
        assert.strictEqual(chatCalls(yield* s.openai.requests) + (yield* s.anthropic.requests).length, calls)

        // a cache hit (of the agent type's own answers) still serves, at no cost, without a provider call
        const hit = yield* gateway.complete(ask("budget question 0", "gpt-4o-mini", { max_tokens: 20 }), { ...defaultRequirements, agentType: "scenario" })
        assert.isTrue(hit.meta.cacheHit)
        assert.strictEqual(hit.meta.costUsd, 0)
        assert.deepStrictEqual(hit.response.choices, answers[0]!.response.choices)
        assert.strictEqual(chatCalls(yield* s.openai.requests) + (yield* s.anthropic.requests).length, calls)

        // the alerts: 50% then 80%, once each, on the global daily budget, at the spend they name
        const limitPico = 500_000_000n
        const crossed = yield* events.ofTag("BudgetThresholdCrossed")
        assert.deepStrictEqual(crossed.map((e) => [e.budget, e.period, e.threshold]), [["global", "daily", 0.5], ["global", "daily", 0.8]])
        for (const e of crossed) {
          assert.strictEqual(e.limitUsd, 0.0005)
          assert.isTrue(pico(e.spentUsd) * 10n >= limitPico * BigInt(e.threshold * 10), `spent at the ${e.threshold} alert`)
        }
        // ... crossed by the request that took the spend over the line
        let running = 0n
        const crossingAt = (threshold: number) =>
          answers.findIndex((a) => {
            running += pico(a.meta.costUsd)
            return running * 10n >= limitPico * BigInt(threshold * 10)
          })
        const at50 = crossingAt(0.5)
        running = 0n
        const at80 = crossingAt(0.8)
        assert.isTrue(at50 >= 0 && at80 > at50)
        assert.strictEqual(pico(crossed[0]!.spentUsd), answers.slice(0, at50 + 1).reduce((sum, a) => sum + pico(a.meta.costUsd), 0n))
        assert.strictEqual(pico(crossed[1]!.spentUsd), answers.slice(0, at80 + 1).reduce((sum, a) => sum + pico(a.meta.costUsd), 0n))

        // aggregation: per model, the stored sums equal the answers' costs exactly (and the prices applied to their usage)
        const expected = new Map<string, { cost: bigint; requests: number }>()
        for (const a of answers) {
          assert.strictEqual(pico(a.meta.costUsd), costOf(a.meta.model, a.response), `cost of ${a.meta.requestId}`)
          const e = expected.get(a.meta.model) ?? { cost: 0n, requests: 0 }
          expected.set(a.meta.model, { cost: e.cost + pico(a.meta.costUsd), requests: e.requests + 1 })
        }
        const gpt = expected.get("gpt-4o-mini")!
        expected.set("gpt-4o-mini", { ...gpt, requests: gpt.requests + 1 }) // the cache hit: a record at zero cost
        // the writer stores records `records.flushIntervalMs` (20 ms) after they arrive: let that time pass
        const groups = yield* poll(
          Effect.zipRight(TestClock.adjust("20 millis"), costs.costByModel()),
          (gs) => gs.reduce((n, g) => n + g.requests, 0) === answers.length + 1,
          5_000,
          "every cost record to be stored"
        )
        assert.deepStrictEqual(
          groups.map((g) => [g.key, g.costPicoUsd, g.requests]),
          [...expected.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, v.cost, v.requests])
        )
        const byAgent = yield* costs.costs({ groupBy: "agentType" })
        const scenario = byAgent.find((g) => g.key === "scenario")
        assert.strictEqual(scenario?.costPicoUsd, answers.reduce((sum, a) => sum + pico(a.meta.costUsd), 0n))
        assert.strictEqual(scenario?.requests, answers.length + 1) // the cache hit is the scenario's too
      }).pipe(Effect.provide(s.layer))
    }), 20_000)

  it.scoped("a spent per-model budget moves requests to the cheaper fallback that still has room", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(noonUtc)
      const registry = models()
      const withFallback = {
        ...registry,
        models: registry.models.map((m) => (m.id === "claude-haiku" ? { ...m, fallbacks: ["gpt-4o-mini"] } : m))
      }
      const s = yield* stack({
        models: withFallback,
        gateway: { failover, cache: { enabled: false }, budgets: { perModel: { "claude-haiku": { daily: 0.0005 } } } }
      })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const selector = yield* ModelSelector
        const served: Array<string> = []
        for (let i = 0; i < 40; i++) {
          const answer = yield* gateway.complete(ask(`per model ${i}`, "claude-haiku", { max_tokens: 20 }), defaultRequirements)
          served.push(answer.meta.model)
        }
        // first the requested model, then (its budget spent) the cheaper fallback, never back
        const firstFallback = served.indexOf("gpt-4o-mini")
        assert.isAbove(firstFallback, 2)
        assert.isTrue(served.slice(0, firstFallback).every((m) => m === "claude-haiku"))
        assert.isTrue(served.slice(firstFallback).every((m) => m === "gpt-4o-mini"))
        assert.strictEqual((yield* s.anthropic.requests).length, firstFallback)
        assert.strictEqual(chatCalls(yield* s.openai.requests), 40 - firstFallback)
        // the ranking says why
        const ranking = yield* selector.rank({ requirements: defaultRequirements, estimatedPromptTokens: 10, maxOutputTokens: 20 })
        assert.deepStrictEqual(ranking.ranked.map((r) => r.model.id), ["gpt-4o-mini"])
        const excluded = ranking.excluded.find((e) => e.model === "claude-haiku")
        assert.include(excluded?.reason ?? "", "model:claude-haiku")
      }).pipe(Effect.provide(s.layer))
    }), 20_000)
})
