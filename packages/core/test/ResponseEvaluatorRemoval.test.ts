/**
 * The evaluator and the registry: a model the registry removes loses its low
 * scores and its switch recommendation at once; an answer that was in flight
 * is still scored but opens no track; the same id added again starts with no
 * low scores; a reload that keeps a model keeps its recommendation.
 */
import { assert, describe, it } from "@effect/vitest"
import type { GatewayEvent } from "@modelgate/domain/Events"
import { Context, Effect, Layer, Option, Ref, Schema, Stream } from "effect"
import { Events } from "../src/Events.js"
import * as GatewayConfig from "../src/GatewayConfig.js"
import { GatewayConfigData } from "../src/GatewayConfigSchema.js"
import * as RecordSink from "../src/RecordSink.js"
import * as ResponseEvaluatorModule from "../src/ResponseEvaluator.js"
import { ResponseEvaluator } from "../src/ResponseEvaluator.js"
import { layerReloadableModels, ModelsFile } from "./ReloadableModels.js"
import { testModel } from "./TestModels.js"
import { reply, request } from "./ResponseEvaluatorFixtures.js"

const gpt = testModel("gpt")
const claude = testModel("claude", { provider: "anthropic", providerModel: "claude-v1" })

const config = Schema.decodeUnknownSync(GatewayConfigData)({ evaluator: { enabled: true, switchAfterLowScores: 2, switchWindowMs: 60_000 } })

class Published extends Context.Tag("test/Published")<Published, Ref.Ref<ReadonlyArray<GatewayEvent>>>() {}
const recordingEvents = Layer.effectContext(
  Effect.map(Ref.make<ReadonlyArray<GatewayEvent>>([]), (ref) =>
    Context.make(Events, { publish: (e) => Ref.update(ref, (all) => [...all, e]), subscribe: Stream.empty }).pipe(Context.add(Published, ref))
  )
)

const testLayer = ResponseEvaluatorModule.layer.pipe(
  Layer.provideMerge(Layer.mergeAll(RecordSink.layerMemory, layerReloadableModels([gpt, claude]), GatewayConfig.layerStatic(config), recordingEvents))
)

const empty = reply("")

/** An empty answer of `model` to a "qa" request: a low score. */
const bad = (model: string) =>
  Effect.flatMap(ResponseEvaluator, (e) => e.evaluate({ requestId: "r", model, taskType: "qa", request, response: empty }))

/** The models a switch was recommended away from, in order. */
const recommended = Effect.flatMap(Published, Ref.get).pipe(
  Effect.map((all) => all.flatMap((e) => (e._tag === "ModelSwitchRecommended" ? [e.model] : [])))
)

/** Let the evaluator's registry fiber run. */
const settle = Effect.repeatN(Effect.yieldNow(), 20)

/** Once the evaluator follows the registry, two low scores of gpt: a switch away from it is recommended. */
const recommendAgainstGpt = Effect.zipRight(settle, Effect.zipRight(bad("gpt"), bad("gpt")))

describe("ResponseEvaluator: models the registry removes", () => {
  it.effect("a removed model loses its recommendation; a late answer opens no track; re-added, it starts with no low scores", () =>
    Effect.gen(function* () {
      const file = yield* ModelsFile
      const evaluator = yield* ResponseEvaluator
      yield* recommendAgainstGpt
      assert.isAbove(yield* evaluator.penalty("gpt", "qa"), 0.9)
      yield* file.apply([claude])
      yield* settle
      assert.strictEqual(yield* evaluator.penalty("gpt", "qa"), 0, "the removed model's recommendation is still held")
      // An answer that was in flight when gpt was removed: scored and recorded all the same.
      assert.isTrue(Option.isSome(yield* bad("gpt")))
      yield* file.apply([claude, gpt])
      yield* settle
      yield* bad("gpt")
      assert.deepStrictEqual(yield* recommended, ["gpt"], "the re-added model was recommended against on old low scores")
      assert.strictEqual(yield* evaluator.penalty("gpt", "qa"), 0)
    }).pipe(Effect.provide(testLayer)))

  it.effect("a reload that keeps a model (its price changed) keeps its recommendation", () =>
    Effect.gen(function* () {
      const file = yield* ModelsFile
      const evaluator = yield* ResponseEvaluator
      yield* recommendAgainstGpt
      yield* file.apply([testModel("gpt", { pricing: { inputPerMillion: 5, outputPerMillion: 10 } }), claude])
      yield* settle
      assert.isAbove(yield* evaluator.penalty("gpt", "qa"), 0.9)
    }).pipe(Effect.provide(testLayer)))
})
