import { assert, describe, it } from "@effect/vitest"
import type { FailoverEvent } from "@modelgate/domain/Events"
import type { ModelMetadata } from "@modelgate/domain/Model"
import { Overloaded } from "@modelgate/domain/ProviderError"
import { Effect, Ref } from "effect"
import * as ModelOptimizer from "../src/ModelOptimizer.js"
import type { SelectionInput } from "../src/ModelSelector.js"
import { model, setupFailover, setupSelector } from "./RoutingFixtures.js"

const input: SelectionInput = {
  requirements: { capabilities: [], priority: "MEDIUM" },
  estimatedPromptTokens: 100,
  maxOutputTokens: 100,
  requestId: "r-9"
}
const models = [model("a", { qualityScore: 0.9 }), model("b", { qualityScore: 0.8 }), model("c", { qualityScore: 0.5 })]

/** A host optimizer double: vetoes `veto`, puts `promote` first, records what it hears. */
const hostOptimizer = (options: { readonly veto?: ReadonlyArray<string>; readonly promote?: string }) =>
  Effect.gen(function*() {
    const heard = yield* Ref.make<ReadonlyArray<string>>([])
    const note = (line: string) => Ref.update(heard, (h) => [...h, line])
    const layer = ModelOptimizer.layer({
      review: (_input, ranking) =>
        Effect.succeed({
          ...ranking,
          ranked: [
            ...ranking.ranked.filter((s) => s.model.id === options.promote),
            ...ranking.ranked.filter((s) => s.model.id !== options.promote && !(options.veto ?? []).includes(s.model.id))
          ]
        }),
      onSelected: (i, selected) => note(`selected ${selected.model.id} for ${i.requestId}`),
      onFailover: (e: FailoverEvent) => note(`failover ${e.from}->${e.to} attempt ${e.attempt}`),
      onFeedback: (f) => note(`feedback ${f.model} ${f.success ? "ok" : f.errorTag}`)
    })
    return { layer, heard: Ref.get(heard) }
  })

describe("ModelOptimizer", () => {
  it.effect("can reorder and veto a ranking; the selection follows and is reported to it", () =>
    Effect.gen(function*() {
      const host = yield* hostOptimizer({ veto: ["a"], promote: "c" })
      const { selector } = yield* setupSelector(models, host.layer)
      const ranking = yield* selector.rank(input)
      assert.deepStrictEqual(ranking.ranked.map((s) => s.model.id), ["c", "b"])
      assert.deepStrictEqual(ranking.excluded, [{ model: "a", reason: "vetoed by the host's ModelOptimizer", kind: "permanent" }])
      const chosen = yield* selector.select(input)
      assert.strictEqual(chosen.model.id, "c")
      assert.deepStrictEqual(yield* host.heard, ["selected c for r-9"])
    }))

  it.effect("cannot add a model the selector left out, and a veto of everything is NoEligibleModel", () =>
    Effect.gen(function*() {
      const smuggler = ModelOptimizer.layer({
        review: (_i, ranking) =>
          Effect.succeed({ ...ranking, ranked: [...ranking.ranked, { ...ranking.ranked[0]!, model: model("ghost") }] })
      })
      const { selector } = yield* setupSelector(models, smuggler)
      assert.deepStrictEqual((yield* selector.rank(input)).ranked.map((s) => s.model.id), ["a", "b", "c"])

      const vetoAll = ModelOptimizer.layer({ review: (_i, ranking) => Effect.succeed({ ...ranking, ranked: [] }) })
      const { selector: none } = yield* setupSelector(models, vetoAll)
      const error = yield* Effect.flip(none.select(input))
      assert.strictEqual(error.exclusions.length, 3)
      assert.isTrue(error.exclusions.every((e) => e.reason.includes("vetoed")))
    }))

  it.effect("a failing optimizer never fails the request", () =>
    Effect.gen(function*() {
      const broken = ModelOptimizer.layer({
        review: () => Effect.die("optimizer bug"),
        onSelected: () => Effect.die("optimizer bug")
      })
      const { selector } = yield* setupSelector(models, broken)
      const chosen = yield* selector.select(input)
      assert.strictEqual(chosen.model.id, "a")
    }))

  it.effect("hears every attempt's outcome and every failover from Failover", () =>
    Effect.gen(function*() {
      const host = yield* hostOptimizer({})
      const { failover } = yield* setupFailover({ extra: host.layer, failover: { backoffBaseMs: 0, backoffCapMs: 0 } })
      const attempt = (m: ModelMetadata) =>
        m.id === "a"
          ? Effect.fail(new Overloaded({ provider: "openai", model: "a", status: 503, detail: "busy" }))
          : Effect.succeed(m.id)
      yield* failover.run(models, attempt)
      assert.deepStrictEqual(yield* host.heard, ["feedback a Overloaded", "failover a->b attempt 2", "feedback b ok"])
    }))
})
