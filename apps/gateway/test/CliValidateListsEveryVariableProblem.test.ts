/**
 * `modelgate config validate` lists every problem "of gateway.json, each
 * overlay, the variables and models.json" (README): a malformed variable is
 * listed whatever else is wrong, and every malformed variable is listed.
 */
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Console, Effect, Exit } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Commands from "../src/cli/Commands.js"
import { echoGateway, services } from "./support/Doubles.js"

const runWith = (env: Record<string, string>, ...args: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const out: Array<string> = []
    const err: Array<string> = []
    const capture = new Proxy({} as Console.Console, {
      get: (_target, key) => {
        if (key === "log" || key === "info") return (...xs: ReadonlyArray<unknown>) => Effect.sync(() => void out.push(xs.join(" ")))
        if (key === "error" || key === "warn") return (...xs: ReadonlyArray<unknown>) => Effect.sync(() => void err.push(xs.join(" ")))
        if (key === "unsafe") return { log: (...xs: ReadonlyArray<unknown>) => out.push(xs.join(" ")), error: (...xs: ReadonlyArray<unknown>) => err.push(xs.join(" ")) }
        if (key === Console.TypeId) return Console.TypeId
        return () => Effect.void
      }
    })
    const exit = yield* Commands.run(() => services(echoGateway))(["node", "modelgate", ...args]).pipe(
      Effect.withConsole(capture),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
      Effect.provide(NodeContext.layer),
      Effect.exit
    )
    return { exit, out: out.join("\n"), err: err.join("\n") }
  })

const writeConfig = (files: Record<string, unknown>) => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "modelgate-config-"))
  Fs.mkdirSync(Path.join(dir, "environments"))
  for (const [name, value] of Object.entries(files)) Fs.writeFileSync(Path.join(dir, name), JSON.stringify(value))
  return dir
}

describe("config validate and environment variables", () => {
  it.effect("lists a malformed PORT and a malformed MODELGATE_LOG_LEVEL together", () =>
    Effect.gen(function* () {
      const dir = writeConfig({ "gateway.json": {}, "models.json": { models: [] } })
      const { err, exit } = yield* runWith({ PORT: "eighty", MODELGATE_LOG_LEVEL: "loud" }, "config", "validate", dir)
      assert.isTrue(Exit.isFailure(exit))
      assert.include(err, "environment variable PORT")
      assert.include(err, "environment variable MODELGATE_LOG_LEVEL")
    }))

  it.effect("lists a malformed variable when gateway.json has problems of its own", () =>
    Effect.gen(function* () {
      const dir = writeConfig({ "gateway.json": { cache: { ttlMs: -1 } }, "models.json": { models: [] } })
      const { err, exit } = yield* runWith({ PORT: "eighty" }, "config", "validate", dir)
      assert.isTrue(Exit.isFailure(exit))
      assert.include(err, "cache.ttlMs")
      assert.include(err, "environment variable PORT")
    }))
})
