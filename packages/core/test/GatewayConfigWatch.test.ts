/**
 * The config watcher sees every edit, whichever way the file is written: in
 * place, replaced by rename (`sed -i`, editors), or by a Kubernetes ConfigMap
 * update (a `..data` symlink swap). Real files, real watcher; each step waits
 * for the version it wrote to be applied (a hang detector, no fixed sleeps).
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import * as Events from "@modelgate/core/Events"
import { GatewayConfig, layer } from "@modelgate/core/GatewayConfig"
import { ConfigProvider, Context, Duration, Effect, Layer, Stream } from "effect"
import * as path from "node:path"
import { hangDetector, replaceByRename, swapConfigMap, writeUntilObserved } from "./FileWatch.js"

const withEnv = Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))

/** The live layer on `directory`, watching, with a short debounce. */
const build = (directory: string, environment?: string) =>
  Effect.map(
    Layer.build(
      layer({ directory, environment, watch: true, debounce: Duration.millis(50) }).pipe(
        Layer.provide(Events.layer),
        Layer.provide(NodeContext.layer)
      )
    ),
    (ctx) => Context.get(ctx, GatewayConfig)
  )

/** Completes once the running config has `port` (now or later). */
const hasPort = (config: GatewayConfig["Type"], port: number) =>
  config.changes.pipe(Stream.filter((c) => c.server.port === port), Stream.runHead, Effect.flatten)

const port = (n: number) => JSON.stringify({ server: { port: n } })

/**
 * A config directory (gateway.json and an empty environments/) under the live
 * layer for environment "dev", its watcher shown running: port 2000 applied.
 */
const watchedDirectory = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const dir = yield* fs.makeTempDirectoryScoped({ prefix: "modelgate-config-watch-" })
  yield* fs.makeDirectory(path.join(dir, "environments"))
  const file = path.join(dir, "gateway.json")
  yield* fs.writeFileString(file, port(1000))
  const config = yield* build(dir, "dev")
  // The watcher starts in the background with no readiness signal: the first change is written until applied.
  yield* writeUntilObserved(file, port(2000), hasPort(config, 2000), "gateway.json port 2000 applied by the watcher")
  return { config, dir, file, fs }
})

describe("GatewayConfig: the watcher sees every replacement", () => {
  it.scopedLive("gateway.json and environments/dev.json replaced by rename three times each: every version applied", () =>
    Effect.gen(function*() {
      const { config, dir, file, fs } = yield* watchedDirectory
      for (const n of [3001, 3002, 3003]) {
        yield* replaceByRename(file, port(n))
        yield* hangDetector(hasPort(config, n), `gateway.json replaced by rename, port ${n} applied`)
      }
      const overlay = path.join(dir, "environments", "dev.json")
      for (const n of [4001, 4002, 4003]) {
        yield* replaceByRename(overlay, port(n))
        yield* hangDetector(hasPort(config, n), `environments/dev.json replaced by rename, port ${n} applied`)
      }
      // In-place writes still work after the replacements.
      yield* fs.writeFileString(overlay, port(5000))
      yield* hangDetector(hasPort(config, 5000), "environments/dev.json written in place, port 5000 applied")
    }).pipe(withEnv, Effect.provide(NodeContext.layer)))

  it.scopedLive("the environments folder replaced by rename: its next changes are still seen", () =>
    Effect.gen(function*() {
      const { config, dir, fs } = yield* watchedDirectory
      for (const n of [6001, 6002, 6003]) {
        const fresh = path.join(dir, `environments-${n}`)
        yield* fs.makeDirectory(fresh)
        yield* fs.writeFileString(path.join(fresh, "dev.json"), port(n))
        yield* fs.remove(path.join(dir, "environments"), { recursive: true })
        yield* fs.rename(fresh, path.join(dir, "environments"))
        yield* hangDetector(hasPort(config, n), `environments folder replaced, port ${n} applied`)
      }
      yield* fs.writeFileString(path.join(dir, "environments", "dev.json"), port(7000))
      yield* hangDetector(hasPort(config, 7000), "environments/dev.json in the new folder written in place, port 7000 applied")
    }).pipe(withEnv, Effect.provide(NodeContext.layer)))

  it.scopedLive("a Kubernetes ConfigMap update (a ..data symlink swap) three times: every version applied", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "modelgate-config-watch-" })
      yield* swapConfigMap(dir, "v0", { "gateway.json": port(1000) })
      const config = yield* build(dir)
      assert.strictEqual((yield* config.get).server.port, 1000)
      // Until the watcher is live, swap again (a new version each round) until one is applied.
      let round = 0
      yield* Effect.suspend(() => {
        round++
        return swapConfigMap(dir, `w${round}`, { "gateway.json": port(2000) }).pipe(
          Effect.zipRight(Effect.timeoutOption(hasPort(config, 2000), 300))
        )
      }).pipe(Effect.repeat({ until: (o) => o._tag === "Some" }), (e) => hangDetector(e, "first ConfigMap swap applied"))
      for (const n of [8001, 8002, 8003]) {
        yield* swapConfigMap(dir, `v${n}`, { "gateway.json": port(n) })
        yield* hangDetector(hasPort(config, n), `ConfigMap swapped, port ${n} applied`)
      }
    }).pipe(withEnv, Effect.provide(NodeContext.layer)))
})
