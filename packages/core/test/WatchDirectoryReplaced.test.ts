/**
 * The config directory itself replaced while the gateway runs (a deploy
 * moving the old `config` away and a new one into its place, or deleting and
 * copying it afresh): the watchers of gateway.json and models.json go on
 * with the directory now at the path, whose files are applied, edits in it
 * included. Real files, real watcher; each step waits for the version it wrote
 * (a hang detector, no fixed sleeps).
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import * as path from "node:path"
import { hangDetector, writeUntilObserved } from "./FileWatch.js"
import { models, port, watchedConfig, watchedRegistry } from "./WatchedStacks.js"

const withEnv = Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))

/** Put a new directory holding `files` at `dir`: the old one moved away (then deleted when `remove`), the new one renamed into place. */
const replaceDirectory = (dir: string, files: Record<string, string>, remove: boolean) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) =>
    Effect.gen(function*() {
      const fresh = `${dir}.new`
      yield* fs.makeDirectory(fresh)
      for (const [name, content] of Object.entries(files)) yield* fs.writeFileString(path.join(fresh, name), content)
      yield* fs.rename(dir, `${dir}.old`)
      yield* fs.rename(fresh, dir)
      if (remove) yield* fs.remove(`${dir}.old`, { recursive: true })
    }).pipe(Effect.uninterruptible))

/** A fresh `<tmp>/config` directory holding `files`. */
const configDirectory = (files: Record<string, string>) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = path.join(yield* fs.makeTempDirectoryScoped({ prefix: "modelgate-dir-replaced-" }), "config")
    yield* fs.makeDirectory(dir)
    for (const [name, content] of Object.entries(files)) yield* fs.writeFileString(path.join(dir, name), content)
    return { dir, fs }
  })

describe("the config directory replaced while the gateway runs", () => {
  it.scopedLive("GatewayConfig: the new directory's gateway.json is applied, and so are later edits in it, twice over", () =>
    Effect.gen(function*() {
      const { dir, fs } = yield* configDirectory({ "gateway.json": port(1000) })
      const hasPort = yield* watchedConfig(dir)
      const file = path.join(dir, "gateway.json")
      yield* writeUntilObserved(file, port(2000), hasPort(2000), "port 2000 applied by the watcher")
      for (const [n, remove] of [[3000, false], [5000, true]] as const) {
        yield* replaceDirectory(dir, { "gateway.json": port(n) }, remove)
        yield* hangDetector(hasPort(n), `the replacing directory's port ${n} applied`)
        yield* fs.writeFileString(file, port(n + 1000))
        yield* hangDetector(hasPort(n + 1000), `port ${n + 1000}, written in the new directory, applied`)
        if (!remove) yield* fs.remove(`${dir}.old`, { recursive: true })
      }
    }).pipe(withEnv, Effect.provide(NodeContext.layer)))

  it.scopedLive("ModelRegistry: the new directory's models.json is loaded, and so are later edits in it", () =>
    Effect.gen(function*() {
      const { dir, fs } = yield* configDirectory({ "models.json": models("a") })
      const file = path.join(dir, "models.json")
      const has = yield* watchedRegistry(file)
      yield* writeUntilObserved(file, models("a", "b"), has("a", "b"), "models a,b loaded by the watcher")
      yield* replaceDirectory(dir, { "models.json": models("c") }, true)
      yield* hangDetector(has("c"), "the replacing directory's model c loaded")
      yield* fs.writeFileString(file, models("d"))
      yield* hangDetector(has("d"), "model d, written in the new directory, loaded")
    }).pipe(Effect.provide(NodeContext.layer)))
})
