/**
 * Models added and updated through the admin API while `models.json` is
 * reloaded: every reload composes the file with every override stored so
 * far, so an admin change made at the same time as a reload survives it (and
 * the next ones), whichever runs first.
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { layer, ModelRegistry } from "@modelgate/core/ModelRegistry"
import * as ModelStore from "@modelgate/core/ModelStore"
import { Context, Effect, Layer } from "effect"
import * as path from "node:path"
import { rawModel } from "./ModelRegistryFixtures.js"

const file = (...ids: ReadonlyArray<string>) => JSON.stringify({ models: ids.map((id) => rawModel(id)) })

describe("ModelRegistry: admin changes at the same time as reloads", () => {
  it.scoped("ten admin adds and an update racing ten reloads of a changing file: all survive, over the last file", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "modelgate-admin-reload-" })
      const models = path.join(dir, "models.json")
      yield* fs.writeFileString(models, file("a", "b"))
      const registry = Context.get(yield* Layer.build(layer({ file: models }).pipe(Layer.provide(ModelStore.layerMemory))), ModelRegistry)
      const adds = Array.from({ length: 10 }, (_, i) => registry.add(rawModel(`admin-${i}`)))
      // The file is edited and reloaded ten times in a row (one writer), while the admin changes come in.
      const reloads = Effect.forEach(Array.from({ length: 10 }, (_, i) => i), (i) =>
        Effect.zipRight(fs.writeFileString(models, i % 2 === 0 ? file("a", "b", `file-${i}`) : file("a", "b")), registry.reload))
      yield* Effect.all([...adds, registry.update("a", { enabled: false }), reloads], { concurrency: "unbounded", discard: true })
      const ids = new Set<string>((yield* registry.reload).map((m) => m.id))
      for (let i = 0; i < 10; i++) assert.isTrue(ids.has(`admin-${i}`), `admin-${i} lost`)
      assert.isFalse((yield* registry.get("a")).enabled, "the admin update of a was lost")
      const last = new Set(JSON.parse(yield* fs.readFileString(models)).models.map((m: { id: string }) => m.id))
      for (const id of ids) assert.isTrue(last.has(id) || id.startsWith("admin-"), `${id} is neither in the last file nor added`)
    }).pipe(Effect.provide(NodeContext.layer)))
})
