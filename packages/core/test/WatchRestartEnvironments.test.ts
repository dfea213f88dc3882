/**
 * The watch of `environments/` re-arms itself: when it closes or fails on its
 * own (the folder deleted and re-created, the watcher closed, ENOSPC) with
 * nothing changing in the top config directory, it is restarted on the
 * watchers' backoff (1 s, 2 s, ...), the files are read again once it is
 * live, and later edits of the overlay are seen; one watch of the folder at a
 * time. A missing folder is no failure. An in-memory FileSystem on the TestClock.
 */
import { FileSystem, Path } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import * as Events from "@modelgate/core/Events"
import { GatewayConfig, layer as configLayer } from "@modelgate/core/GatewayConfig"
import { ConfigProvider, Context, Effect, Layer, TestClock } from "effect"
import { captureWarnings, fakeFiles, type WatchStart } from "./FileWatch.js"

const port = (n: number) => JSON.stringify({ server: { port: n } })
const overlay = "/cfg/environments/dev.json"
const environments = "/cfg/environments"

/** The config layer for environment `dev` on a fake `/cfg` whose `environments` watches start as `starts`. */
const configUnder = (options: { readonly starts?: ReadonlyArray<WatchStart>; readonly withFolder?: boolean }) =>
  Effect.gen(function*() {
    const withFolder = options.withFolder ?? true
    const files = yield* fakeFiles({
      files: withFolder ? { "/cfg/gateway.json": port(1000), [overlay]: port(1100) } : { "/cfg/gateway.json": port(1000) },
      directories: withFolder ? ["/cfg", environments] : ["/cfg"],
      starts: { [environments]: options.starts ?? [] }
    })
    const ctx = yield* Layer.build(
      configLayer({ directory: "/cfg", environment: "dev", watch: true, debounce: "50 millis" }).pipe(
        Layer.provide(Events.layer),
        Layer.provide(Layer.merge(Layer.succeed(FileSystem.FileSystem, files.fs), Path.layer))
      )
    )
    const config = Context.get(ctx, GatewayConfig)
    return { files, config, portNow: Effect.map(config.get, (c) => c.server.port) }
  }).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map())))

const failuresOf = (warnings: ReadonlyArray<string>) => warnings.filter((w) => w.includes(`file watcher on ${environments} failed`))

describe("the watch of environments/ re-arms itself", () => {
  it.scoped("closed on its own, nothing changing in /cfg: restarted after 1 s, the overlay edited meanwhile applied, later edits seen", () => {
    const log = captureWarnings()
    return Effect.gen(function*() {
      const { files, portNow } = yield* configUnder({})
      yield* files.awaitWatching(environments)
      assert.strictEqual(yield* portNow, 1100)

      yield* files.close(environments) // e.g. the folder deleted and re-created: its watcher ends, /cfg sees nothing
      yield* TestClock.adjust("500 millis")
      assert.strictEqual(yield* files.watching(environments), 0)
      yield* files.writeUnseen(overlay, port(1200))
      yield* TestClock.adjust("499 millis")
      assert.strictEqual(yield* files.attempts(environments), 1)

      yield* TestClock.adjust("1 millis") // t = 1 s: re-armed
      yield* files.awaitWatching(environments)
      assert.strictEqual(yield* files.attempts(environments), 2)
      yield* TestClock.adjust("200 millis") // settled (100 ms) + debounce (50 ms): read once again
      assert.strictEqual(yield* portNow, 1200)

      yield* files.write(overlay, port(1300))
      yield* TestClock.adjust("100 millis")
      assert.strictEqual(yield* portNow, 1300)
      const failures = failuresOf(log.warnings)
      assert.strictEqual(failures.length, 1)
      assert.include(failures[0], "the watcher closed")
    }).pipe(Effect.provide(log.layer))
  })

  it.scoped("ENOSPC at its start: the top directory still watched meanwhile, its change re-arms the folder's watch, then one watch at a time", () => {
    const log = captureWarnings()
    return Effect.gen(function*() {
      const { config, files, portNow } = yield* configUnder({ starts: ["fail", "fail"] })
      yield* files.awaitWatching("/cfg")
      yield* TestClock.adjust("500 millis")
      assert.strictEqual(yield* files.attempts(environments), 1)

      // t = 0.5 s: gateway.json edited while the folder's watch waits to restart: applied now, and the folder's watch re-armed (ENOSPC again).
      yield* files.write("/cfg/gateway.json", JSON.stringify({ server: { port: 1000, host: "10.0.0.1" } }))
      yield* TestClock.adjust("100 millis")
      assert.strictEqual((yield* config.get).server.host, "10.0.0.1")
      assert.strictEqual(yield* files.attempts(environments), 2)
      yield* files.writeUnseen(overlay, port(1200))

      yield* TestClock.adjust("899 millis") // 1 s after the second failure, not after the first
      assert.strictEqual(yield* files.attempts(environments), 2)
      yield* TestClock.adjust("1 millis") // t = 1.5 s: live
      yield* files.awaitWatching(environments)
      yield* TestClock.adjust("200 millis")
      assert.strictEqual(yield* portNow, 1200)
      assert.strictEqual(failuresOf(log.warnings).length, 2)

      yield* TestClock.adjust("10 minutes")
      assert.strictEqual(yield* files.watching(environments), 1)
      assert.strictEqual(yield* files.attempts(environments), 3)
      assert.strictEqual(yield* files.attempts("/cfg"), 1)
      yield* files.write(overlay, port(1400))
      yield* TestClock.adjust("100 millis")
      assert.strictEqual(yield* portNow, 1400)
      assert.strictEqual(failuresOf(log.warnings).length, 2)
    }).pipe(Effect.provide(log.layer))
  })

  it.scoped("no environments folder: no failure logged, no restarts, the top directory still watched", () => {
    const log = captureWarnings()
    return Effect.gen(function*() {
      const { files, config } = yield* configUnder({ withFolder: false })
      yield* files.awaitWatching("/cfg")
      yield* TestClock.adjust("10 minutes")
      assert.deepStrictEqual(failuresOf(log.warnings), [])
      yield* files.write("/cfg/gateway.json", JSON.stringify({ server: { port: 1000, host: "10.0.0.1" } }))
      yield* TestClock.adjust("100 millis")
      assert.strictEqual((yield* config.get).server.host, "10.0.0.1")
    }).pipe(Effect.provide(log.layer))
  })
})
