/**
 * An editor saving `models.json` under a running gateway: truncated (a
 * half-written save), then written whole, then replaced by rename. The
 * half-written file is rejected with `ConfigRejected` naming the file and the
 * reason, the running registry stays; the whole one is applied with
 * `ConfigReloaded` (as the README says of every watched file); the watcher
 * still sees the rename-style save. Real files, real watcher, hang detectors.
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import * as Events from "@modelgate/core/Events"
import { layer, ModelRegistry } from "@modelgate/core/ModelRegistry"
import * as ModelStore from "@modelgate/core/ModelStore"
import type { GatewayEvent } from "@modelgate/domain/Events"
import { Context, Effect, Layer, Queue, Stream } from "effect"
import * as path from "node:path"
import { hangDetector, replaceByRename, writeUntilObserved } from "./FileWatch.js"
import { rawModel } from "./ModelRegistryFixtures.js"

const models = (...ids: ReadonlyArray<string>) => JSON.stringify({ models: ids.map((id) => rawModel(id)) }, null, 2)

describe("ModelRegistry: an editor's saves of models.json", () => {
  it.scopedLive("a half-written save is rejected with ConfigRejected, the whole one applied with ConfigReloaded, a rename-save still seen", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "modelgate-models-events-" })
      const file = path.join(dir, "models.json")
      yield* fs.writeFileString(file, models("a"))
      const ctx = yield* Layer.build(
        layer({ file, watch: true, debounce: "20 millis" }).pipe(
          Layer.provideMerge(Events.layer),
          Layer.provide(ModelStore.layerMemory),
          Layer.provide(NodeContext.layer)
        )
      )
      const registry = Context.get(ctx, ModelRegistry)
      const events = Context.get(ctx, Events.Events)
      const seen = yield* Queue.unbounded<GatewayEvent>()
      yield* events.subscribe.pipe(Stream.runForEach((e) => Queue.offer(seen, e)), Effect.forkScoped)
      const has = (...ids: ReadonlyArray<string>) =>
        registry.changes.pipe(Stream.filter((list) => list.map((m) => m.id).join() === ids.join()), Stream.runHead, Effect.flatten)
      const next = (tag: GatewayEvent["_tag"]) => Queue.take(seen).pipe(Effect.repeat({ until: (e) => e._tag === tag }))
      yield* writeUntilObserved(file, models("a", "b"), has("a", "b"), "models a,b loaded by the watcher")
      yield* Queue.takeAll(seen)

      const whole = models("a", "b", "c")
      yield* fs.writeFileString(file, whole.slice(0, whole.length / 2))
      const rejected = yield* hangDetector(next("ConfigRejected"), "ConfigRejected for the half-written models.json")
      assert.isTrue(rejected._tag === "ConfigRejected" && rejected.file === file, JSON.stringify(rejected))
      if (rejected._tag === "ConfigRejected") assert.include(rejected.reason, "not valid JSON")
      assert.deepStrictEqual((yield* registry.all).map((m) => m.id), ["a", "b"])

      yield* fs.writeFileString(file, whole)
      yield* hangDetector(has("a", "b", "c"), "the whole models.json applied")
      yield* hangDetector(next("ConfigReloaded"), "ConfigReloaded for the whole models.json")

      yield* replaceByRename(file, models("d"))
      yield* hangDetector(has("d"), "models.json replaced by rename, model d loaded")
    }).pipe(Effect.provide(NodeContext.layer)))
})
