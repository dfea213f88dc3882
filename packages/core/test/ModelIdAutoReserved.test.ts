/**
 * `auto` is the model a client asks for to let the gateway choose: a model
 * with that id could never be asked for by name (and `/v1/models` would list
 * `auto` twice). The admin API answers it as an invalid `id` and stores
 * nothing; a models file holding one is refused at `models[i].id`.
 */
import { assert, describe, it } from "@effect/vitest"
import { ModelRegistry, layerMemory } from "@modelgate/core/ModelRegistry"
import { checkModelsText } from "@modelgate/core/ModelRegistry/Validation"
import { Effect, Either } from "effect"
import { model, rawModel } from "./ModelRegistryFixtures.js"

describe("the model id auto", () => {
  it.effect("added through the admin API: InvalidModel at id, nothing added", () =>
    Effect.gen(function* () {
      const registry = yield* ModelRegistry
      const added = yield* Effect.either(registry.add(rawModel("auto")))
      const error = Either.isLeft(added) ? added.left : undefined
      assert.strictEqual(error?._tag === "InvalidModel" ? error.field : "added", "id")
      assert.include(error?.message, "reserved")
      assert.deepStrictEqual((yield* registry.all).map((m) => m.id), ["gpt-4o-mini"])
    }).pipe(Effect.provide(layerMemory([model("gpt-4o-mini")]))))

  it("in a models file: refused at its id", () => {
    const checked = checkModelsText("models.json", JSON.stringify({ models: [rawModel("gpt-4o-mini"), rawModel("auto")] }), new Set(["openai"]))
    assert.deepStrictEqual(Either.isLeft(checked) ? checked.left.map((e) => e.path) : "accepted", ["models[1].id"])
  })
})
