/**
 * With `syncStoredEvery`, the registry applies what other instances sharing
 * its database stored (a model added through their admin API) on its own,
 * without a reload; nothing changes before the interval, and an unchanged
 * store publishes nothing.
 */
import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { layer, ModelRegistry } from "@modelgate/core/ModelRegistry"
import { AddedModel, makeMemory, ModelStore } from "@modelgate/core/ModelStore"
import { Context, Effect, Fiber, Layer, Stream, TestClock } from "effect"
import { model, rawModel } from "./ModelRegistryFixtures.js"

describe("ModelRegistry syncStoredEvery", () => {
  it.scoped("applies another instance's stored model after the interval, and publishes only changes", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "modelgate-sync-" })
      const file = path.join(dir, "models.json")
      yield* fs.writeFileString(file, JSON.stringify({ models: [rawModel("gpt-4o-mini")] }))
      const store = yield* makeMemory()
      const registry = yield* Layer.build(
        layer({ file, syncStoredEvery: "10 seconds" }).pipe(Layer.provide(Layer.succeed(ModelStore, store)))
      ).pipe(Effect.map((context) => Context.get(context, ModelRegistry)))
      const changes = yield* registry.changes.pipe(Stream.take(2), Stream.runCollect, Effect.fork)

      yield* TestClock.adjust("10 seconds") // nothing stored: no change published
      yield* store.put(AddedModel.make({ model: model("added-elsewhere") }))
      yield* TestClock.adjust("9 seconds")
      assert.deepStrictEqual((yield* registry.all).map((m) => m.id), ["gpt-4o-mini"])

      yield* TestClock.adjust("1 second")
      const [first, second] = Array.from(yield* Fiber.join(changes))
      assert.deepStrictEqual(first?.map((m) => m.id), ["gpt-4o-mini"])
      assert.deepStrictEqual(second?.map((m) => m.id), ["gpt-4o-mini", "added-elsewhere"])
      assert.strictEqual((yield* registry.get("added-elsewhere")).id, "added-elsewhere")
    }).pipe(Effect.provide(NodeContext.layer)))
})
