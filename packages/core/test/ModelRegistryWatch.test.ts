/**
 * The models file watcher sees every edit, whichever way the file is
 * written: replaced by rename (`sed -i`, editors) or by a Kubernetes
 * ConfigMap update (a `..data` symlink swap). Real files, real watcher; each
 * step waits for the version it wrote (a hang detector, no fixed sleeps).
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, it } from "@effect/vitest"
import { ModelRegistry, layer } from "@modelgate/core/ModelRegistry"
import * as ModelStore from "@modelgate/core/ModelStore"
import { Context, Effect, Layer, Stream } from "effect"
import * as path from "node:path"
import { hangDetector, replaceByRename, swapConfigMap, writeUntilObserved } from "./FileWatch.js"
import { rawModel } from "./ModelRegistryFixtures.js"

const models = (...ids: ReadonlyArray<string>) => JSON.stringify({ models: ids.map((id) => rawModel(id)) })

/** The watching registry on `file`, and a wait for a list of model ids. */
const build = (file: string) =>
  Effect.gen(function*() {
    const ctx = yield* Layer.build(
      layer({ file, watch: true, debounce: "20 millis" }).pipe(Layer.provide(ModelStore.layerMemory), Layer.provide(NodeContext.layer))
    )
    const registry = Context.get(ctx, ModelRegistry)
    const has = (...ids: ReadonlyArray<string>) =>
      registry.changes.pipe(Stream.filter((list) => list.map((m) => m.id).join() === ids.join()), Stream.runHead, Effect.flatten)
    return { registry, has }
  })

describe("ModelRegistry: the watcher sees every replacement", () => {
  it.scopedLive("models.json replaced by rename three times: every version loaded", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "modelgate-models-watch-" })
      const file = path.join(dir, "models.json")
      yield* fs.writeFileString(file, models("a"))
      const { has } = yield* build(file)
      yield* writeUntilObserved(file, models("a", "b"), has("a", "b"), "models a,b loaded by the watcher")
      for (const id of ["r1", "r2", "r3"]) {
        yield* replaceByRename(file, models(id))
        yield* hangDetector(has(id), `models.json replaced by rename, model ${id} loaded`)
      }
      yield* fs.writeFileString(file, models("last"))
      yield* hangDetector(has("last"), "models.json written in place after the replacements, model last loaded")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a Kubernetes ConfigMap update (a ..data symlink swap) three times: every version loaded", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "modelgate-models-watch-" })
      yield* swapConfigMap(dir, "v0", { "models.json": models("a") })
      const { has } = yield* build(path.join(dir, "models.json"))
      // Until the watcher is live, swap again (a new version each round) until one is loaded.
      let round = 0
      yield* Effect.suspend(() => {
        round++
        return swapConfigMap(dir, `w${round}`, { "models.json": models("a", "b") }).pipe(
          Effect.zipRight(Effect.timeoutOption(has("a", "b"), 300))
        )
      }).pipe(Effect.repeat({ until: (o) => o._tag === "Some" }), (e) => hangDetector(e, "first ConfigMap swap loaded"))
      for (const id of ["k1", "k2", "k3"]) {
        yield* swapConfigMap(dir, `v-${id}`, { "models.json": models(id) })
        yield* hangDetector(has(id), `ConfigMap swapped, model ${id} loaded`)
      }
    }).pipe(Effect.provide(NodeContext.layer)))
})
