/**
 * A config watcher whose watch fails (ENOSPC, a throwing `fs.watch`: EMFILE,
 * a watcher that closes) is restarted with backoff (1 s, 2 s, ... capped at
 * 60 s), logs each failure once with the path and the reason, and reloads
 * once after a restart: a change made while nothing watched is applied, and
 * later changes are seen again. An in-memory FileSystem on the TestClock.
 */
import { FileSystem, Path } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import * as Events from "@modelgate/core/Events"
import { GatewayConfig, layer as configLayer } from "@modelgate/core/GatewayConfig"
import { ModelRegistry, layer as registryLayer } from "@modelgate/core/ModelRegistry"
import * as ModelStore from "@modelgate/core/ModelStore"
import { watchBackoff } from "@modelgate/core/internal/retryWatch"
import { Chunk, ConfigProvider, Context, Duration, Effect, Layer, Schedule, TestClock } from "effect"
import { captureWarnings, fakeFiles, type WatchStart } from "./FileWatch.js"
import { rawModel } from "./ModelRegistryFixtures.js"

const port = (n: number) => JSON.stringify({ server: { port: n } })
const models = (...ids: ReadonlyArray<string>) => JSON.stringify({ models: ids.map((id) => rawModel(id)) })

const configUnder = (starts: ReadonlyArray<WatchStart>) =>
  Effect.gen(function*() {
    const files = yield* fakeFiles({ files: { "/cfg/gateway.json": port(1000) }, directories: ["/cfg"], starts: { "/cfg": starts } })
    const ctx = yield* Layer.build(
      configLayer({ directory: "/cfg", watch: true, debounce: "50 millis" }).pipe(
        Layer.provide(Events.layer),
        Layer.provide(Layer.merge(Layer.succeed(FileSystem.FileSystem, files.fs), Path.layer))
      )
    )
    const config = Context.get(ctx, GatewayConfig)
    return { files, portNow: Effect.map(config.get, (c) => c.server.port) }
  }).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map())))

const registryUnder = (starts: ReadonlyArray<WatchStart>) =>
  Effect.gen(function*() {
    const file = "/models/models.json"
    const files = yield* fakeFiles({ files: { [file]: models("a") }, directories: ["/models"], starts: { "/models": starts } })
    const ctx = yield* Layer.build(
      registryLayer({ file, watch: true, debounce: "20 millis" }).pipe(
        Layer.provide(ModelStore.layerMemory),
        Layer.provide(Layer.merge(Layer.succeed(FileSystem.FileSystem, files.fs), Path.layer))
      )
    )
    const registry = Context.get(ctx, ModelRegistry)
    return { file, files, idsNow: Effect.map(registry.all, (list) => list.map((m) => m.id).join()) }
  })

describe("config watchers restart after a failed watch", () => {
  it.effect("watchBackoff: 1 s doubling, capped at 60 s, without end", () =>
    Effect.gen(function*() {
      const delays = yield* Schedule.run(Schedule.delays(watchBackoff), 0, Array.from({ length: 10 }, () => undefined))
      assert.deepStrictEqual(
        Chunk.toReadonlyArray(delays).map(Duration.toMillis),
        [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000, 60_000]
      )
    }))

  it.scoped("GatewayConfig: ENOSPC, then a throwing watch; restarted after 1 s + 2 s, the change made meanwhile applied, later changes seen", () => {
    const log = captureWarnings()
    return Effect.gen(function*() {
      const { files, portNow } = yield* configUnder(["fail", "die"])
      yield* TestClock.adjust("500 millis")
      assert.strictEqual(yield* files.attempts("/cfg"), 1)
      yield* files.writeUnseen("/cfg/gateway.json", port(2000)) // nobody watches: no event

      yield* TestClock.adjust("500 millis") // t = 1 s: the first restart, which dies
      assert.strictEqual(yield* files.attempts("/cfg"), 2)
      yield* TestClock.adjust("1900 millis") // t = 2.9 s: a failed restart reloads nothing
      assert.strictEqual(yield* portNow, 1000)
      const failures = log.warnings.filter((w) => w.includes("file watcher on /cfg failed"))
      assert.strictEqual(failures.length, 2)
      assert.include(failures[0], "ENOSPC")
      assert.include(failures[1], "EMFILE")

      yield* TestClock.adjust("100 millis") // t = 3 s: the second restart, live
      assert.strictEqual(yield* files.attempts("/cfg"), 3)
      yield* files.awaitWatching("/cfg")
      yield* TestClock.adjust("200 millis") // settled (100 ms) + debounce (50 ms): one reload
      assert.strictEqual(yield* portNow, 2000)

      yield* files.write("/cfg/gateway.json", port(3000))
      yield* TestClock.adjust("100 millis")
      assert.strictEqual(yield* portNow, 3000)
      assert.strictEqual(yield* files.attempts("/cfg"), 3)
      assert.strictEqual(log.warnings.filter((w) => w.includes("file watcher on /cfg failed")).length, 2)
    }).pipe(Effect.provide(log.layer))
  })

  it.scoped("ModelRegistry: a watcher that closes, then ENOSPC; restarted after 1 s + 2 s, the change made meanwhile loaded, later changes seen", () => {
    const log = captureWarnings()
    return Effect.gen(function*() {
      const { file, files, idsNow } = yield* registryUnder(["close", "fail"])
      yield* TestClock.adjust("500 millis")
      yield* files.writeUnseen(file, models("a", "b"))
      yield* TestClock.adjust("2400 millis") // t = 2.9 s: one failed restart at 1 s
      assert.strictEqual(yield* files.attempts("/models"), 2)
      assert.strictEqual(yield* idsNow, "a")
      const failures = log.warnings.filter((w) => w.includes("file watcher on /models failed"))
      assert.strictEqual(failures.length, 2)
      assert.include(failures[0], "the watcher closed")
      assert.include(failures[1], "ENOSPC")

      yield* TestClock.adjust("100 millis") // t = 3 s: live again
      yield* files.awaitWatching("/models")
      yield* TestClock.adjust("200 millis")
      assert.strictEqual(yield* idsNow, "a,b")

      yield* files.write(file, models("a", "b", "c"))
      yield* TestClock.adjust("100 millis")
      assert.strictEqual(yield* idsNow, "a,b,c")
    }).pipe(Effect.provide(log.layer))
  })
})
