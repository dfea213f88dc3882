/**
 * What `modelgate` (bin.ts: `Commands.runWithDotEnv`) reads from `.env`: the
 * config directory and the overlay too, not only the keys.
 */
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Console, Effect, Exit, Layer } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Commands from "../src/cli/Commands.js"
import type { AppLayer } from "../src/cli/runtime.js"
import { load } from "@modelgate/core/GatewayConfig/Load"
import { levelProbe } from "./support/LevelProbe.js"

const tmp = (prefix: string) => Fs.mkdtempSync(Path.join(Os.tmpdir(), prefix))

/**
 * Run `modelgate ...args` with `dotEnv` as the `.env` file and an empty environment; the app layer records its options,
 * the level it is heard at and the database file of the configuration it would load, then fails.
 */
const run = (dotEnv: string, ...args: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const out: Array<string> = []
    const probe = levelProbe()
    const seen: Array<{ configDir: string; env: string | undefined; level: string | undefined; db: string }> = []
    const app = (options: { configDir: string; env: string | undefined }) =>
      Layer.unwrapEffect(
        Effect.zipRight(
          probe.logAll,
          Effect.flatMap(Effect.orDie(load({ directory: options.configDir, environment: options.env })), (config) => {
            seen.push({ configDir: options.configDir, env: options.env, level: probe.lowest(), db: config.database.filename })
            return Effect.fail("stop here")
          })
        )
      ) as unknown as AppLayer
    const console = new Proxy({} as Console.Console, {
      get: (_target, key) => {
        if (key === "log" || key === "error") return (...xs: ReadonlyArray<unknown>) => Effect.sync(() => void out.push(xs.join(" ")))
        if (key === Console.TypeId) return Console.TypeId
        return () => Effect.void
      }
    })
    const exit = yield* Commands.runWithDotEnv(app, dotEnv)(["node", "modelgate", ...args]).pipe(
      Effect.withConsole(console),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map())),
      Effect.provide(NodeContext.layer),
      Effect.provide(probe.logger),
      Effect.exit
    )
    return { exit, out: out.join("\n"), seen }
  })

describe("cli .env", () => {
  it.effect("MODELGATE_CONFIG_DIR in .env is where config validate looks", () =>
    Effect.gen(function* () {
      const config = tmp("modelgate-config-")
      Fs.writeFileSync(Path.join(config, "models.json"), JSON.stringify({ models: [] }))
      const dotEnv = Path.join(tmp("modelgate-dotenv-"), ".env")
      Fs.writeFileSync(dotEnv, `MODELGATE_CONFIG_DIR=${config}\n`)
      const { exit, out } = yield* run(dotEnv, "config", "validate")
      assert.isTrue(Exit.isSuccess(exit), out)
      assert.include(out, `${config}: configuration is valid`)
    }))

  it.effect("MODELGATE_CONFIG_DIR, MODELGATE_ENV and MODELGATE_DB in .env reach serve", () =>
    Effect.gen(function* () {
      const config = tmp("modelgate-config-")
      Fs.writeFileSync(Path.join(config, "models.json"), JSON.stringify({ models: [] }))
      Fs.mkdirSync(Path.join(config, "environments"))
      Fs.writeFileSync(Path.join(config, "environments", "prod.json"), JSON.stringify({ logLevel: "error" }))
      const data = tmp("modelgate-data-")
      const dotEnv = Path.join(tmp("modelgate-dotenv-"), ".env")
      Fs.writeFileSync(dotEnv, `MODELGATE_CONFIG_DIR=${config}\nMODELGATE_ENV=prod\nMODELGATE_DB=${Path.join(data, "db", "x.db")}\n`)
      const { seen } = yield* run(dotEnv, "serve")
      assert.deepStrictEqual(seen, [{ configDir: config, env: "prod", level: "ERROR", db: Path.join(data, "db", "x.db") }])
    }))

  it.effect("a missing .env is skipped", () =>
    Effect.gen(function* () {
      const config = tmp("modelgate-config-")
      Fs.writeFileSync(Path.join(config, "models.json"), JSON.stringify({ models: [] }))
      const { exit, out } = yield* run(Path.join(tmp("modelgate-dotenv-"), ".env"), "config", "validate", config)
      assert.isTrue(Exit.isSuccess(exit), out)
    }))
})
