/**
 * The config directory given as a symlink (`--config /etc/modelgate`, a link to
 * `/srv/cfg-v1`) and a deploy repointing the link to a new release: atomically
 * (`ln -s` to a temporary name, then a rename over the link) or not (`ln -sfn`:
 * the link removed, then made again). The watchers of gateway.json and
 * models.json go on with the directory the link now leads to, whose files are
 * applied, later edits in it included. Real files, real watcher; each step
 * waits for the version it wrote (a hang detector, no fixed sleeps).
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import * as path from "node:path"
import { hangDetector, writeUntilObserved } from "./FileWatch.js"
import { models, port, watchedConfig, watchedRegistry } from "./WatchedStacks.js"

const withEnv = Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))

/** A fresh release directory `<root>/<release>` holding `files`. */
const release = (root: string, name: string, files: Record<string, string>) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) =>
    Effect.gen(function*() {
      const dir = path.join(root, name)
      yield* fs.makeDirectory(dir)
      for (const [file, content] of Object.entries(files)) yield* fs.writeFileString(path.join(dir, file), content)
      return dir
    }))

/** Point the symlink `link` at `target`: by a rename over it when `atomic`, else removed then made again (`ln -sfn`). */
const repoint = (link: string, target: string, atomic: boolean) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) =>
    (atomic
      ? fs.symlink(target, `${link}.tmp`).pipe(Effect.zipRight(fs.rename(`${link}.tmp`, link)))
      : fs.remove(link).pipe(Effect.zipRight(fs.symlink(target, link)))).pipe(Effect.uninterruptible))

/** `<tmp>/config`, a symlink to `<tmp>/v1` holding `files`. */
const linkedDirectory = (files: Record<string, string>) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const root = yield* fs.makeTempDirectoryScoped({ prefix: "modelgate-dir-symlink-" })
    const dir = path.join(root, "config")
    yield* fs.symlink(yield* release(root, "v1", files), dir)
    return { root, dir, fs }
  })

describe("the config directory a symlink, repointed while the gateway runs", () => {
  it.scopedLive("GatewayConfig: the new target's gateway.json is applied, and so are later edits in it, twice over", () =>
    Effect.gen(function*() {
      const { dir, fs, root } = yield* linkedDirectory({ "gateway.json": port(1000) })
      const hasPort = yield* watchedConfig(dir)
      const file = path.join(dir, "gateway.json")
      yield* writeUntilObserved(file, port(2000), hasPort(2000), "port 2000 applied by the watcher")
      for (const [n, atomic] of [[3000, true], [5000, false]] as const) {
        yield* repoint(dir, yield* release(root, `v${n}`, { "gateway.json": port(n) }), atomic)
        yield* hangDetector(hasPort(n), `the new target's port ${n} applied`)
        yield* fs.writeFileString(file, port(n + 1000))
        yield* hangDetector(hasPort(n + 1000), `port ${n + 1000}, written in the new target, applied`)
      }
    }).pipe(withEnv, Effect.provide(NodeContext.layer)))

  it.scopedLive("ModelRegistry: the new target's models.json is loaded, and so are later edits in it", () =>
    Effect.gen(function*() {
      const { dir, fs, root } = yield* linkedDirectory({ "models.json": models("a") })
      const file = path.join(dir, "models.json")
      const has = yield* watchedRegistry(file)
      yield* writeUntilObserved(file, models("a", "b"), has("a", "b"), "models a,b loaded by the watcher")
      yield* repoint(dir, yield* release(root, "v2", { "models.json": models("c") }), true)
      yield* hangDetector(has("c"), "the new target's model c loaded")
      yield* fs.writeFileString(file, models("d"))
      yield* hangDetector(has("d"), "model d, written in the new target, loaded")
    }).pipe(Effect.provide(NodeContext.layer)))
})
