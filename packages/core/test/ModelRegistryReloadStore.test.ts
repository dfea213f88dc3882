/**
 * `reload` reads the stored additions and updates again: with several gateway
 * instances on one database, a model added through one instance's admin API
 * reaches the others on their next reload; a store that cannot be read keeps
 * the ones known.
 */
import { assert, describe, it } from "@effect/vitest"
import { make, ModelRegistry } from "@modelgate/core/ModelRegistry"
import { AddedModel, ModelStore, makeMemory, UpdatedModel } from "@modelgate/core/ModelStore"
import { StoreError } from "@modelgate/domain/Errors"
import { ModelId } from "@modelgate/domain/Ids"
import { Effect, Layer, Ref } from "effect"
import { model } from "./ModelRegistryFixtures.js"

const base = [model("gpt-4o-mini")]

describe("ModelRegistry.reload and the stored models", () => {
  it.effect("picks up what another instance stored, and keeps what it knew when the store fails", () =>
    Effect.gen(function* () {
      const store = yield* makeMemory()
      const failing = yield* Ref.make(false)
      const shared = ModelStore.of({
        ...store,
        list: Effect.flatMap(Ref.get(failing), (fail) => (fail ? Effect.fail(new StoreError({ operation: "list", reason: "down" })) : store.list))
      })
      const registry = yield* make({ load: Effect.succeed(base) }).pipe(Effect.provide(Layer.succeed(ModelStore, shared)))

      // Another instance writes to the shared store.
      yield* store.put(AddedModel.make({ model: model("added-elsewhere") }))
      yield* store.put(UpdatedModel.make({ id: ModelId.make("gpt-4o-mini"), patch: { displayName: "renamed elsewhere" } }))
      assert.deepStrictEqual((yield* registry.all).map((m) => m.id), ["gpt-4o-mini"])

      const reloaded = yield* registry.reload
      assert.deepStrictEqual(reloaded.map((m) => [m.id, m.displayName]), [["gpt-4o-mini", "renamed elsewhere"], ["added-elsewhere", "ADDED-ELSEWHERE"]])

      yield* Ref.set(failing, true)
      const kept = yield* registry.reload
      assert.deepStrictEqual(kept.map((m) => m.id), ["gpt-4o-mini", "added-elsewhere"])
      assert.strictEqual((yield* ModelRegistry.pipe(Effect.provideService(ModelRegistry, registry), Effect.flatMap((r) => r.get("added-elsewhere")))).id, "added-elsewhere")
    }))
})
