/**
 * `gateway.json` or the overlay gone at a reload (deleted, or between the two
 * steps of an editor's delete-then-write save): the running configuration
 * stays and the reload is rejected naming the file, as for a half-written
 * one; falling back to the defaults would drop every budget, virtual key and
 * provider endpoint at once. Once the file is back, it applies. A directory
 * that had no `gateway.json` at start still reloads to the defaults.
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import * as Events from "@modelgate/core/Events"
import { GatewayConfig, layer } from "@modelgate/core/GatewayConfig"
import { ConfigProvider, Context, Effect, Either, Layer } from "effect"
import * as path from "node:path"

const withEnv = Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))

const build = (directory: string, environment?: string) =>
  Effect.map(
    Layer.build(layer({ directory, environment, watch: false }).pipe(Layer.provide(Events.layer), Layer.provide(NodeContext.layer))),
    (ctx) => Context.get(ctx, GatewayConfig)
  )

const budget = (daily: number) => JSON.stringify({ budgets: { global: { daily } } })

/** The reload's error; a reload that applied fails the test (with the daily budget it applied). */
const rejection = (config: GatewayConfig["Type"]) =>
  Effect.flatMap(Effect.either(config.reload), (r) =>
    Either.isLeft(r) ? Effect.succeed(r.left) : Effect.dieMessage(`the reload applied (daily budget now ${r.right.budgets.global.daily})`))

describe("GatewayConfig: a file gone at a reload", () => {
  it.scoped("gateway.json deleted: the reload is rejected naming it, the running configuration stays; written back, it applies", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "modelgate-config-gone-" })
      const file = path.join(dir, "gateway.json")
      yield* fs.writeFileString(file, budget(5))
      const config = yield* build(dir)
      yield* fs.remove(file)
      const error = yield* rejection(config)
      assert.strictEqual(error.file, file)
      assert.include(error.reason, "not found")
      assert.strictEqual((yield* config.get).budgets.global.daily, 5)
      yield* fs.writeFileString(file, budget(7))
      assert.strictEqual((yield* config.reload).budgets.global.daily, 7)
    }).pipe(withEnv, Effect.provide(NodeContext.layer)))

  it.scoped("the overlay deleted: rejected naming it, the overlay's values stay", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "modelgate-config-gone-" })
      yield* fs.makeDirectory(path.join(dir, "environments"))
      const overlay = path.join(dir, "environments", "production.json")
      yield* fs.writeFileString(path.join(dir, "gateway.json"), budget(5))
      yield* fs.writeFileString(overlay, budget(50))
      const config = yield* build(dir, "production")
      yield* fs.remove(overlay)
      const error = yield* rejection(config)
      assert.strictEqual(error.file, overlay)
      assert.strictEqual((yield* config.get).budgets.global.daily, 50)
    }).pipe(withEnv, Effect.provide(NodeContext.layer)))

  it.scoped("no gateway.json at start: reloads go on reading the defaults, and apply one written later", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "modelgate-config-gone-" })
      const config = yield* build(dir)
      assert.isUndefined((yield* config.reload).budgets.global.daily)
      yield* fs.writeFileString(path.join(dir, "gateway.json"), budget(3))
      assert.strictEqual((yield* config.reload).budgets.global.daily, 3)
    }).pipe(withEnv, Effect.provide(NodeContext.layer)))
})
