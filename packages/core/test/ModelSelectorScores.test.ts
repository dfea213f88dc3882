/**
 * The selector's numbers as a user reads them: weights that do not sum to 1
 * rank as their normalised shares; the score is the weighted sum of the parts
 * it reports (as `POST /admin/select` shows them); a free model (Ollama)
 * gets the full cost part and the dearest paid model none; a model with no
 * calls yet gets the benefit of the doubt (the best measured candidate's
 * performance, or a neutral 0.5 with none), above a failing one, and one
 * that fails fast below all; equal models rank by id whatever the registry's
 * order.
 */
import { assert, describe, it } from "@effect/vitest"
import type { TaskRequirements } from "@modelgate/domain/Requirements"
import { Effect } from "effect"
import { defaultConfig, GatewayConfigData, SelectionConfig, SelectionWeights } from "../src/GatewayConfigSchema.js"
import type * as ModelSelector from "../src/ModelSelector.js"
import { model, setupSelector } from "./RoutingFixtures.js"

const req = (requirements: Partial<TaskRequirements> = {}): ModelSelector.SelectionInput => ({
  requirements: { capabilities: [], priority: "MEDIUM", ...requirements },
  estimatedPromptTokens: 1_000,
  maxOutputTokens: 500
})

const withWeights = (w: Partial<typeof SelectionWeights.Type>) =>
  GatewayConfigData.make({ ...defaultConfig, selection: SelectionConfig.make({ weights: SelectionWeights.make(w) }) })

const models = [
  model("ollama-llama", { provider: "ollama", pricing: { inputPerMillion: 0, outputPerMillion: 0 }, qualityScore: 0.6 }),
  model("mini", { pricing: { inputPerMillion: 0.15, outputPerMillion: 0.6 }, qualityScore: 0.7 }),
  model("big", { pricing: { inputPerMillion: 5, outputPerMillion: 15 }, qualityScore: 0.9 })
]

describe("ModelSelector scores", () => {
  it.effect("weights that do not sum to 1 rank as their shares; the score is the weighted sum of the parts shown", () =>
    Effect.gen(function*() {
      const even = yield* setupSelector(models, undefined, { config: withWeights({ capability: 1, cost: 1, performance: 1, availability: 1 }) })
      const quarter = yield* setupSelector(models, undefined, { config: withWeights({ capability: 0.25, cost: 0.25, performance: 0.25, availability: 0.25 }) })
      yield* even.monitor.set("mini", { requests: 40, successRate: 1, latencyP50Ms: 400, latencyP95Ms: 900, latencyP99Ms: 1_200 })
      yield* quarter.monitor.set("mini", { requests: 40, successRate: 1, latencyP50Ms: 400, latencyP95Ms: 900, latencyP99Ms: 1_200 })
      const a = yield* even.selector.rank(req())
      const b = yield* quarter.selector.rank(req())
      assert.deepStrictEqual(a.ranked.map((s) => [s.model.id, s.score]), b.ranked.map((s) => [s.model.id, s.score]))
      for (const s of a.ranked) {
        assert.deepStrictEqual(s.weights, { capability: 0.25, cost: 0.25, performance: 0.25, availability: 0.25 })
        const sum = s.parts.capability * 0.25 + s.parts.cost * 0.25 + s.parts.performance * 0.25 + s.parts.availability * 0.25
        assert.closeTo(s.score, sum, 1e-9)
        assert.strictEqual(s.explanation[0], `score ${s.score.toFixed(3)}`)
      }
    }))

  it.effect("a free model gets the full cost part, the dearest paid none, the one between a share on the log scale", () =>
    Effect.gen(function*() {
      const { selector } = yield* setupSelector(models)
      const cost = Object.fromEntries((yield* selector.rank(req())).ranked.map((s) => [s.model.id, s.parts.cost]))
      assert.strictEqual(cost["ollama-llama"], 1)
      assert.strictEqual(cost["big"], 0)
      assert.isTrue(cost["mini"]! > 0 && cost["mini"]! < 1)
    }))

  it.effect("no calls yet: as good as the best measured candidate, above one that fails; one that fails fast is last", () =>
    Effect.gen(function*() {
      const { monitor, selector } = yield* setupSelector([model("cold"), model("good"), model("flaky"), model("broken")])
      const cold = yield* selector.rank(req())
      for (const s of cold.ranked) assert.strictEqual(s.parts.performance, 0.5, "a cold start: neutral for all")
      yield* monitor.set("good", { requests: 40, successRate: 1, latencyP50Ms: 300, latencyP95Ms: 600, latencyP99Ms: 900 })
      yield* monitor.set("flaky", { requests: 40, successRate: 0.3, latencyP50Ms: 3_000, latencyP95Ms: 8_000, latencyP99Ms: 9_000 })
      // every call failed in 5 ms with an error health does not count (a malformed body, say): the
      // monitor then reports the failures' latencies, which earn no latency credit
      yield* monitor.set("broken", { requests: 50, successRate: 0, latencyP50Ms: 5, latencyP95Ms: 5, latencyP99Ms: 5 })
      const ranking = yield* selector.rank(req())
      const part = (id: string) => ranking.ranked.find((s) => s.model.id === id)!.parts.performance
      assert.isAbove(part("good"), 0.5)
      assert.strictEqual(part("cold"), part("good"))
      assert.isBelow(part("flaky"), 0.5)
      // equal on every part, "cold" and "good" rank by id
      assert.deepStrictEqual(ranking.ranked.map((s) => s.model.id), ["cold", "good", "flaky", "broken"])
      assert.include(ranking.ranked[0]!.explanation.join("\n"), "no recent data (the best measured candidate's")
      assert.include(ranking.ranked[3]!.explanation.join("\n"), "no answer, no latency credit")
    }))

  it.effect("equal models rank by id, whatever the registry's order", () =>
    Effect.gen(function*() {
      const one = yield* setupSelector([model("b"), model("c"), model("a")])
      const two = yield* setupSelector([model("c"), model("a"), model("b")])
      assert.deepStrictEqual((yield* one.selector.rank(req())).ranked.map((s) => s.model.id), ["a", "b", "c"])
      assert.deepStrictEqual((yield* two.selector.rank(req())).ranked.map((s) => s.model.id), ["a", "b", "c"])
    }))
})
