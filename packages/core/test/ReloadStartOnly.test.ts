/**
 * A reload that changes a setting read at start only (`server.*`,
 * `database.*`, `records.*`) must say so, naming the setting: the user who
 * edited `server.port` while the gateway runs otherwise sees "configuration
 * reloaded" and a gateway still on the old port, with no word why. One a
 * flag or variable sets at start (`serve --port`, `MODELGATE_DATABASE_URL`)
 * is named with what sets it: a restart would not apply it either.
 */
import { assert, describe, it } from "@effect/vitest"
import { defaultConfig, GatewayConfigData } from "@modelgate/core/GatewayConfigSchema"
import { Effect, Layer, Schema } from "effect"
import * as Events from "../src/Events.js"
import { captureWarnings } from "./FileWatch.js"
import { ConfigFiles, layerReloadable } from "./ReloadableConfig.js"

const config = (fields: Record<string, unknown>) => Schema.decodeUnknownSync(GatewayConfigData)(fields)

describe("a reload of a setting read at start only", () => {
  it.effect("warns naming each start-only setting it changed, and each reload while it still differs", () => {
    const { layer, warnings } = captureWarnings()
    return Effect.gen(function* () {
      const files = yield* ConfigFiles
      yield* files.apply(config({ server: { port: 9000, cors: ["https://app.example.com"] }, records: { batchSize: 50 }, cache: { ttlMs: 5 } }))
      const startOnly = warnings.filter((w) => w.includes("restart"))
      assert.strictEqual(startOnly.length, 1, warnings.join("\n"))
      for (const field of ["server.port", "server.cors", "records.batchSize"]) assert.include(startOnly[0], field)
      assert.notInclude(startOnly[0], "cache.ttlMs")
      // Still not in force after another change: said again.
      yield* files.apply(config({ server: { port: 9000, cors: ["https://app.example.com"] }, records: { batchSize: 50 }, cache: { ttlMs: 6 } }))
      assert.strictEqual(warnings.filter((w) => w.includes("restart")).length, 2)
      // Back to what runs: nothing to say.
      yield* files.apply(config({ cache: { ttlMs: 7 } }))
      assert.strictEqual(warnings.filter((w) => w.includes("restart")).length, 2)
    }).pipe(Effect.provide(layerReloadable(defaultConfig).pipe(Layer.provide(Events.layer))), Effect.provide(layer))
  })

  it.effect("says nothing of a reload that changes only settings that follow reloads", () => {
    const { layer, warnings } = captureWarnings()
    return Effect.gen(function* () {
      const files = yield* ConfigFiles
      yield* files.apply(config({ cache: { ttlMs: 5 }, failover: { queueCapacity: 3 } }))
      assert.deepStrictEqual(warnings, [])
    }).pipe(Effect.provide(layerReloadable(defaultConfig).pipe(Layer.provide(Events.layer))), Effect.provide(layer))
  })

  it.effect("names what sets a setting overridden at start (serve --port) instead of asking for a restart that would not apply it", () => {
    const { layer, warnings } = captureWarnings()
    const overrides = [{ field: "server.port", by: "--port" }, { field: "database.filename", by: "MODELGATE_DATABASE_URL" }]
    return Effect.gen(function* () {
      const files = yield* ConfigFiles
      yield* files.apply(config({ server: { port: 9000, cors: ["https://app.example.com"] }, database: { filename: "./other.db" } }))
      const restart = warnings.filter((w) => w.includes("restart the gateway"))
      assert.strictEqual(restart.length, 1, warnings.join("\n"))
      assert.include(restart[0], "server.cors", "a setting no flag sets still waits for a restart")
      assert.notInclude(restart[0], "server.port")
      assert.notInclude(restart[0], "database.filename")
      const overridden = warnings.filter((w) => w.includes("--port"))
      assert.strictEqual(overridden.length, 1, warnings.join("\n"))
      assert.include(overridden[0], "server.port (set by --port)")
      assert.include(overridden[0], "database.filename (set by MODELGATE_DATABASE_URL)")
      assert.include(overridden[0], "nor a restart")
    }).pipe(Effect.provide(layerReloadable(defaultConfig, overrides).pipe(Layer.provide(Events.layer))), Effect.provide(layer))
  })
})
