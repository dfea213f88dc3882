import { assert, describe, it } from "@effect/vitest"
import { BudgetExceeded } from "@modelgate/domain/Errors"
import { type PicoUsd, tokenCost } from "@modelgate/domain/Money"
import type { TaskRequirements } from "@modelgate/domain/Requirements"
import { Effect, Layer } from "effect"
import * as CostTracker from "../src/CostTracker.js"
import { defaultConfig } from "../src/GatewayConfigSchema.js"
import * as ModelSelector from "../src/ModelSelector.js"
import { priorityWeights } from "../src/ModelSelector/Scoring.js"
import * as ResponseEvaluator from "../src/ResponseEvaluator.js"
import { model, setupSelector } from "./RoutingFixtures.js"

const req = (requirements: Partial<TaskRequirements> = {}, prompt = 1_000, output = 500): ModelSelector.SelectionInput => ({
  requirements: { capabilities: [], priority: "MEDIUM", ...requirements },
  estimatedPromptTokens: prompt,
  maxOutputTokens: output
})

const ids = (ranking: ModelSelector.Ranking) => ranking.ranked.map((s) => s.model.id as string)

describe("ModelSelector.rank", () => {
  it.effect("scores every eligible model with parts in 0..1 and an explanation line per part", () =>
    Effect.gen(function*() {
      const { selector } = yield* setupSelector([
        model("a", { qualityScore: 0.9 }),
        model("b", { qualityScore: 0.6, pricing: { inputPerMillion: 0.1, outputPerMillion: 0.4 } })
      ])
      const ranking = yield* selector.rank(req())
      assert.deepStrictEqual(ids(ranking).sort(), ["a", "b"])
      for (const s of ranking.ranked) {
        for (const v of Object.values(s.parts)) assert.isTrue(v >= 0 && v <= 1, `part ${v} out of range`)
        assert.isTrue(s.score >= 0 && s.score <= 1)
        for (const word of ["capability", "cost", "performance", "availability", "weights"]) {
          assert.isTrue(s.explanation.some((l) => l.startsWith(word)), `no ${word} line in ${s.explanation.join(" | ")}`)
        }
      }
      const b = ranking.ranked.find((s) => s.model.id === "b")!
      assert.strictEqual(b.parts.cost, 1, "the cheapest candidate gets the full cost score")
      assert.closeTo(ranking.ranked.find((s) => s.model.id === "a")!.parts.cost, 0.5, 0.01, "10x dearer: half a 2-decade span")
    }))

  it.effect("excludes models failing a hard requirement and says why", () =>
    Effect.gen(function*() {
      const { health, limiter, selector } = yield* setupSelector([
        model("ok"),
        model("off", { enabled: false }),
        model("novision"),
        model("small", { capabilities: ["chat", "vision"], contextWindow: 1_200 }),
        model("down", { capabilities: ["chat", "vision"] }),
        model("dear", { capabilities: ["chat", "vision"], pricing: { inputPerMillion: 100, outputPerMillion: 400 } }),
        model("busy", { capabilities: ["chat", "vision"] }),
        model("fine", { capabilities: ["chat", "vision"] })
      ])
      yield* health.set("down", false, "3 probes failed")
      yield* limiter.set("busy", { fits: false, retryAfterMs: 1_500, requestsUsed: 1_000 })
      // The request names its 500 output tokens (`max_tokens`): the cost cap holds that output, not the model's limit.
      const ranking = yield* selector.rank({ ...req({ capabilities: ["vision"], maxCostPerRequestUsd: 0.01 }), outputTokensAsked: 500 })
      assert.deepStrictEqual(ids(ranking), ["fine"])
      const why = Object.fromEntries(ranking.excluded.map((e) => [e.model, e.reason]))
      assert.include(why["ok"], "lacks required capabilities: vision")
      assert.strictEqual(why["off"], "disabled")
      assert.include(why["small"], "context window 1200 < 1500 tokens needed")
      assert.include(why["down"], "unavailable: 3 probes failed")
      assert.include(why["dear"], "exceeds maxCostPerRequestUsd")
      assert.include(why["busy"], "rate limited")
      assert.strictEqual(ranking.retryAfterMs, 1_500, "the one timed exclusion: busy's room again")
      // What the request asks rules out for good (HTTP 400 when alone); the gateway's setup, a health or a limit does not.
      const kind = Object.fromEntries(ranking.excluded.map((e) => [e.model, e.kind]))
      assert.deepStrictEqual(kind, {
        ok: "request",
        off: "permanent",
        novision: "request",
        small: "request",
        down: "unavailable",
        dear: "request",
        busy: "rate_limited"
      })
    }))

  it.effect("counts the output once per choice (n) toward the cost cap, once toward the context window", () =>
    Effect.gen(function*() {
      // $1 per million output tokens: 500 output tokens cost $0.0005 per choice (the prompt is free).
      const { selector } = yield* setupSelector([model("m", { contextWindow: 1_600, pricing: { inputPerMillion: 0, outputPerMillion: 1 } })])
      const cap = { maxCostPerRequestUsd: 0.0012 }
      assert.deepStrictEqual(ids(yield* selector.rank({ ...req(cap), outputTokensAsked: 500, choices: 2 })), ["m"])
      const three = yield* selector.rank({ ...req(cap), outputTokensAsked: 500, choices: 3 })
      assert.deepStrictEqual(ids(three), [])
      assert.include(three.excluded[0]?.reason, "exceeds maxCostPerRequestUsd")
      // 1,000 prompt + 500 output fit 1,600 whatever n is.
      assert.deepStrictEqual(ids(yield* selector.rank({ ...req(), choices: 3 })), ["m"])
    }))

  it.effect("excludes a model that gives fewer output tokens than the request names (its provider would answer a 400); a default output excludes none", () =>
    Effect.gen(function*() {
      const { selector } = yield* setupSelector([model("small", { maxOutputTokens: 8_192 }), model("large", { maxOutputTokens: 64_000 })])
      const asked = yield* selector.rank({ ...req({}, 1_000, 32_000), outputTokensAsked: 32_000 })
      assert.deepStrictEqual(ids(asked), ["large"])
      assert.deepStrictEqual(asked.excluded, [{ model: "small", reason: "gives at most 8192 output tokens (32000 asked)", kind: "request" }])
      assert.deepStrictEqual(ids(yield* selector.rank({ ...req({}, 1_000, 8_192), outputTokensAsked: 8_192 })).sort(), ["large", "small"])
      assert.deepStrictEqual(ids(yield* selector.rank(req({}, 1_000, 32_000))).sort(), ["large", "small"])
    }))

  it.effect("honours minContextWindow and lists unknown `only` ids", () =>
    Effect.gen(function*() {
      const { selector } = yield* setupSelector([model("short", { contextWindow: 8_000 }), model("long")])
      const ranking = yield* selector.rank({ ...req({ minContextWindow: 100_000 }), only: ["short", "long", "ghost"] })
      assert.deepStrictEqual(ids(ranking), ["long"])
      assert.deepStrictEqual(ranking.excluded.map((e) => e.model).sort(), ["ghost", "short"])
      assert.include(ranking.excluded.find((e) => e.model === "ghost")!.reason, "not in the registry")
    }))

  it.effect("excludes a model whose budget has no room (CostTracker present)", () =>
    Effect.gen(function*() {
      // Only what the selector reads of the CostTracker.
      const reads: Pick<CostTracker.CostTracker["Type"], "cost" | "checkBudget"> = {
        cost: (m, u) =>
          (tokenCost(u.promptTokens, m.pricing.inputPerMillion) +
            tokenCost(u.completionTokens, m.pricing.outputPerMillion)) as PicoUsd,
        checkBudget: (m) =>
          m.id === "capped"
            ? Effect.fail(new BudgetExceeded({ budget: "model:capped", period: "daily", limitUsd: 1, spentUsd: 1 }))
            : Effect.void
      }
      const costs = Layer.succeed(CostTracker.CostTracker, reads as CostTracker.CostTracker["Type"])
      const { selector } = yield* setupSelector([model("capped"), model("free")], costs)
      const ranking = yield* selector.rank(req())
      assert.deepStrictEqual(ids(ranking), ["free"])
      assert.include(ranking.excluded[0]!.reason, "budget model:capped (daily) exceeded")
    }))

  it.effect("keeps the order of `only` between equal models", () =>
    Effect.gen(function*() {
      const { selector } = yield* setupSelector([model("a"), model("b"), model("c")])
      assert.deepStrictEqual(ids(yield* selector.rank({ ...req(), only: ["c", "a", "b"] })), ["c", "a", "b"])
      assert.deepStrictEqual(ids(yield* selector.rank(req())), ["a", "b", "c"], "without only: by id")
    }))

  it.effect("HIGH and CRITICAL prefer quality, LOW prefers price", () =>
    Effect.gen(function*() {
      const { selector } = yield* setupSelector([
        model("frontier", { qualityScore: 0.95, pricing: { inputPerMillion: 3, outputPerMillion: 15 } }),
        model("economy", { qualityScore: 0.7, pricing: { inputPerMillion: 0.15, outputPerMillion: 0.6 } })
      ])
      const first = (priority: TaskRequirements["priority"]) =>
        Effect.map(selector.rank(req({ priority })), (r) => r.ranked[0]!.model.id as string)
      assert.strictEqual(yield* first("LOW"), "economy")
      assert.strictEqual(yield* first("MEDIUM"), "economy")
      assert.strictEqual(yield* first("HIGH"), "frontier")
      assert.strictEqual(yield* first("CRITICAL"), "frontier")
    }))

  it("documents the exact priority shift", () => {
    const w = defaultConfig.selection.weights
    const close = (a: number, b: number) => assert.closeTo(a, b, 1e-9)
    const high = priorityWeights(w, "HIGH")
    close(high.capability, 0.375), close(high.cost, 0.1), close(high.performance, 0.325), close(high.availability, 0.2)
    const critical = priorityWeights(w, "CRITICAL")
    close(critical.capability, 0.4125), close(critical.cost, 0.025), close(critical.performance, 0.3625)
    const low = priorityWeights(w, "LOW")
    close(low.capability, 0.2), close(low.cost, 0.25 + 0.1 + 0.25 / 3), close(low.performance, 0.25 * 2 / 3)
    const medium = priorityWeights(w, "MEDIUM")
    close(medium.cost, 0.25)
  })

  it.effect("recent performance moves the ranking; no data is neutral, then as good as the best measured; the evaluator's penalty lowers it", () =>
    Effect.gen(function*() {
      const penalty = Layer.succeed(ResponseEvaluator.ResponseEvaluator, ResponseEvaluator.ResponseEvaluator.of({
        evaluate: () => Effect.die("unused"),
        penalty: (m, task) => Effect.succeed(m === "b" && task === "code" ? 0.5 : 0)
      }))
      const { monitor, selector } = yield* setupSelector([model("a"), model("b"), model("c")], penalty)
      const before = yield* selector.rank(req())
      for (const s of before.ranked) assert.strictEqual(s.parts.performance, 0.5)
      yield* monitor.set("a", { requests: 200, successRate: 0.7, latencyP50Ms: 6_000, latencyP95Ms: 9_000, latencyP99Ms: 12_000 })
      yield* monitor.set("c", { requests: 200, successRate: 1, latencyP50Ms: 300, latencyP95Ms: 600, latencyP99Ms: 900 })
      const after = yield* selector.rank(req())
      // "b" has no data: the benefit of the doubt puts it level with "c", and the id decides
      assert.deepStrictEqual(ids(after), ["b", "c", "a"])
      const c = after.ranked.find((s) => s.model.id === "c")!
      assert.strictEqual(after.ranked[0]!.parts.performance, c.parts.performance)
      const coded = yield* selector.rank(req({ taskType: "code" }))
      const b = coded.ranked.find((s) => s.model.id === "b")!
      assert.closeTo(b.parts.performance, c.parts.performance / 2, 1e-9)
      assert.include(b.explanation.join("\n"), "evaluator penalty 0.50")
    }))

  it.effect("works without PerformanceMonitor, CostTracker or ResponseEvaluator", () =>
    Effect.gen(function*() {
      const { selector } = yield* setupSelector([model("a"), model("b", { pricing: { inputPerMillion: 9, outputPerMillion: 9 } })], Layer.empty, {
        monitor: false
      })
      const ranking = yield* selector.rank(req())
      assert.deepStrictEqual(ids(ranking), ["a", "b"])
      assert.strictEqual(ranking.ranked[0]!.parts.performance, 0.5)
    }))

  it.effect("a task type favours models tagged for it or having its capabilities", () =>
    Effect.gen(function*() {
      const { selector } = yield* setupSelector([
        model("plain"),
        model("coder", { capabilities: ["chat", "code"] }),
        model("tagged", { tags: ["code"] })
      ])
      const ranking = yield* selector.rank(req({ taskType: "code" }))
      assert.deepStrictEqual(ids(ranking), ["coder", "tagged", "plain"].sort((x, y) =>
        x === "plain" ? 1 : y === "plain" ? -1 : x < y ? -1 : 1))
      assert.isTrue(ranking.ranked[2]!.parts.capability < ranking.ranked[0]!.parts.capability)
    }))
})

describe("ModelSelector.select", () => {
  it.effect("returns the best model and publishes ModelSelected", () =>
    Effect.gen(function*() {
      const { events, selector } = yield* setupSelector([model("a", { qualityScore: 0.99 }), model("b", { qualityScore: 0.5 })])
      const chosen = yield* selector.select({ ...req({ priority: "HIGH" }), requestId: "r1" })
      assert.strictEqual(chosen.model.id, "a")
      const published = yield* events.all
      assert.strictEqual(published.length, 1)
      const e = published[0]!
      assert.strictEqual(e._tag, "ModelSelected")
      if (e._tag === "ModelSelected") {
        assert.strictEqual(e.model, "a")
        assert.strictEqual(e.requestId, "r1")
        assert.strictEqual(e.score, chosen.score)
      }
    }))

  it.effect("fails NoEligibleModel naming each model, with the earliest retry when only rate limits stand in the way", () =>
    Effect.gen(function*() {
      const { limiter, selector } = yield* setupSelector([model("a"), model("b")])
      yield* limiter.set("a", { fits: false, retryAfterMs: 4_000 })
      yield* limiter.set("b", { fits: false, retryAfterMs: 1_250 })
      const error = yield* Effect.flip(selector.select(req()))
      assert.strictEqual(error._tag, "NoEligibleModel")
      assert.deepStrictEqual(error.exclusions.map((e) => e.model), ["a", "b"])
      assert.strictEqual(error.retryAfterMs, 1_250)
      assert.include(error.message, "a (rate limited")
    }))

  it.effect("gives the earliest known retry time when other models are excluded with no end in sight (unhealthy, disabled)", () =>
    Effect.gen(function*() {
      const { health, limiter, selector } = yield* setupSelector([model("a"), model("b"), model("c", { enabled: false }), model("d")])
      yield* limiter.set("a", { fits: false, retryAfterMs: 4_000 })
      yield* health.set("b", false, "3 probes failed")
      yield* limiter.set("d", { fits: false, retryAfterMs: 2_500 })
      const error = yield* Effect.flip(selector.select(req()))
      assert.deepStrictEqual(error.exclusions.map((e) => [e.model, e.kind, e.retryAfterMs]), [
        ["a", "rate_limited", 4_000],
        ["b", "unavailable", undefined],
        ["c", "permanent", undefined],
        ["d", "rate_limited", 2_500]
      ])
      assert.strictEqual(error.retryAfterMs, 2_500)
    }))

  it.effect("gives no retry time when no exclusion has a known end", () =>
    Effect.gen(function*() {
      const { health, selector } = yield* setupSelector([model("a"), model("b", { enabled: false })])
      yield* health.set("a", false, "3 probes failed")
      const error = yield* Effect.flip(selector.select(req()))
      assert.isUndefined(error.retryAfterMs)
      assert.strictEqual(error.exclusions.length, 2)
    }))
})
