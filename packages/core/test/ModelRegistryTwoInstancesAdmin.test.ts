/**
 * Two gateway instances on one database (one `ModelStore`), an admin client
 * behind a load balancer: a change made on A and the next one made on B
 * before B's periodic sync both hold. B's `PATCH` builds on what A stored (A's
 * change is not overwritten, on B, on A after its sync, nor in the store); B
 * sees a model A just added (its `PATCH` finds it, its `POST` of the same id
 * is refused, "already exists", not a silent replacement).
 */
import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { layer, ModelRegistry } from "@modelgate/core/ModelRegistry"
import { makeMemory, ModelStore } from "@modelgate/core/ModelStore"
import { Context, Effect, Layer } from "effect"
import { rawModel } from "./ModelRegistryFixtures.js"

const twoInstances = Effect.gen(function* () {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const dir = yield* fs.makeTempDirectoryScoped({ prefix: "modelgate-two-admin-" })
  const file = path.join(dir, "models.json")
  yield* fs.writeFileString(file, JSON.stringify({ models: [rawModel("gpt-4o-mini")] }))
  const store = yield* makeMemory()
  const instance = Layer.build(
    layer({ file, syncStoredEvery: "10 seconds" }).pipe(Layer.provide(Layer.succeed(ModelStore, store)))
  ).pipe(Effect.map((context) => Context.get(context, ModelRegistry)))
  return { a: yield* instance, b: yield* instance, store }
})

describe("ModelRegistry admin changes on two instances", () => {
  it.scoped("a PATCH on B right after one on A keeps A's change, on both and in the store", () =>
    Effect.gen(function* () {
      const { a, b, store } = yield* twoInstances
      yield* a.update("gpt-4o-mini", { pricing: { inputPerMillion: 2, outputPerMillion: 8 } })
      yield* b.update("gpt-4o-mini", { enabled: false })

      const onB = yield* b.get("gpt-4o-mini")
      assert.deepStrictEqual([onB.pricing.inputPerMillion, onB.enabled], [2, false])
      yield* a.syncStored
      const onA = yield* a.get("gpt-4o-mini")
      assert.deepStrictEqual([onA.pricing.inputPerMillion, onA.enabled], [2, false])
      const stored = yield* store.list
      assert.deepStrictEqual(stored.length, 1)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("B finds the model A just added: its PATCH applies, its POST of the same id is refused", () =>
    Effect.gen(function* () {
      const { a, b } = yield* twoInstances
      yield* a.add(rawModel("added-on-a", { qualityScore: 0.9 }))

      const patched = yield* b.update("added-on-a", { qualityScore: 0.8 })
      assert.strictEqual(patched.qualityScore, 0.8)
      const again = yield* Effect.flip(b.add(rawModel("added-on-a", { qualityScore: 0.1 })))
      assert.deepStrictEqual([again._tag, again._tag === "InvalidModel" ? again.field : ""], ["InvalidModel", "id"])
      yield* a.syncStored
      assert.strictEqual((yield* a.get("added-on-a")).qualityScore, 0.8)
    }).pipe(Effect.provide(NodeContext.layer)))
})
