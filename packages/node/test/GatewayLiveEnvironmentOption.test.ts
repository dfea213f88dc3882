/**
 * `GatewayLive.layerWith`'s `environment` option (README: "`layerWith` also
 * takes `environment` (the overlay)"; JSDoc: "Default: `MODELGATE_ENV`") as a
 * library user passes it: the overlay is applied whether or not the config
 * directory is given as an option, and `MODELGATE_ENV` is its default either way.
 */
import { assert, describe, it } from "@effect/vitest"
import { GatewayConfig } from "@modelgate/core/GatewayConfig"
import { Providers } from "@modelgate/core/Provider"
import * as GatewayLive from "@modelgate/node/GatewayLive"
import { ConfigProvider, Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { models } from "./fixture.js"

/** A config directory whose `environments/staging.json` overlay sets `logLevel: "debug"` (the base says "warning"). */
const configDirectory = Effect.acquireRelease(
  Effect.sync(() => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "modelgate-env-option-"))
    fs.writeFileSync(path.join(dir, "gateway.json"), JSON.stringify({ database: { filename: ":memory:" }, healthCheck: { enabled: false }, logLevel: "warning" }))
    fs.writeFileSync(path.join(dir, "models.json"), JSON.stringify(models()))
    fs.mkdirSync(path.join(dir, "environments"))
    fs.writeFileSync(path.join(dir, "environments", "staging.json"), JSON.stringify({ logLevel: "debug" }))
    return dir
  }),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** The log level the gateway built from `options` runs with, under the variables `env`. */
const logLevelOf = (options: GatewayLive.GatewayLiveOptions, env: Record<string, string>) =>
  Effect.flatMap(GatewayConfig, (c) => c.get).pipe(
    Effect.map((data) => data.logLevel),
    Effect.provide(
      GatewayLive.layerWith({ watch: false, providers: Layer.succeed(Providers, Providers.fromList([])), ...options }).pipe(
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))
      )
    )
  )

describe("GatewayLive.layerWith environment option", () => {
  it.scoped("with the config directory as an option, `environment` applies its overlay", () =>
    Effect.gen(function* () {
      const dir = yield* configDirectory
      assert.strictEqual(yield* logLevelOf({ configDirectory: dir, environment: "staging" }, {}), "debug")
    }))

  it.scoped("with the config directory from MODELGATE_CONFIG_DIR, `environment` still applies its overlay", () =>
    Effect.gen(function* () {
      const dir = yield* configDirectory
      assert.strictEqual(yield* logLevelOf({ environment: "staging" }, { MODELGATE_CONFIG_DIR: dir }), "debug")
    }))

  it.scoped("with the config directory as an option and no `environment`, MODELGATE_ENV is the default", () =>
    Effect.gen(function* () {
      const dir = yield* configDirectory
      assert.strictEqual(yield* logLevelOf({ configDirectory: dir }, { MODELGATE_ENV: "staging" }), "debug")
    }))
})
