/**
 * `validate` (`modelgate config validate`) promises every problem of
 * `gateway.json`, each overlay, the environment variables and `models.json`.
 * A bad variable must be listed whatever else is wrong, and every bad
 * variable must be listed, not only the first.
 */
import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { validate } from "@modelgate/core/GatewayConfig"
import { ConfigProvider, Effect } from "effect"
import * as path from "node:path"
import { rawModel } from "./ModelRegistryFixtures.js"

const configDir = (files: Record<string, unknown>) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const p = yield* Path.Path
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "modelgate-validate-" })
    yield* fs.makeDirectory(p.join(dir, "environments"))
    for (const [name, content] of Object.entries(files)) {
      yield* fs.writeFileString(p.join(dir, name), typeof content === "string" ? content : JSON.stringify(content))
    }
    return dir
  })

const withEnv = (env: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

const where = (dir: string) => (e: { readonly file: string; readonly path: string }) =>
  `${e.file.startsWith("environment ") ? e.file : path.relative(dir, e.file)}:${e.path}`

describe("Config validate and environment variables", () => {
  it.scoped("every bad variable is listed, not only the first", () =>
    Effect.gen(function* () {
      const dir = yield* configDir({ "gateway.json": {}, "models.json": { models: [] } })
      const problems = yield* validate(dir)
      assert.deepStrictEqual(problems.map(where(dir)), [
        "environment variable PORT:server.port",
        "environment variable MODELGATE_LOG_LEVEL:logLevel"
      ])
    }).pipe(withEnv({ PORT: "eighty", MODELGATE_LOG_LEVEL: "loud" }), Effect.provide(NodeContext.layer)))

  it.scoped("a bad variable is listed when gateway.json has problems too", () =>
    Effect.gen(function* () {
      const dir = yield* configDir({ "gateway.json": { cache: { enabled: "yes" } }, "models.json": { models: [] } })
      const problems = yield* validate(dir)
      assert.deepStrictEqual(problems.map(where(dir)), [
        "gateway.json:cache.enabled",
        "environment variable MODELGATE_LOG_LEVEL:logLevel"
      ])
    }).pipe(withEnv({ MODELGATE_LOG_LEVEL: "loud" }), Effect.provide(NodeContext.layer)))

  it.scoped("a bad variable is listed when gateway.json is not even JSON", () =>
    Effect.gen(function* () {
      const dir = yield* configDir({ "gateway.json": "{ nope", "models.json": { models: [] } })
      const problems = yield* validate(dir)
      assert.deepStrictEqual(problems.map(where(dir)), ["gateway.json:", "environment variable PORT:server.port"])
    }).pipe(withEnv({ PORT: "99999" }), Effect.provide(NodeContext.layer)))
})

describe("Config validate and models.json", () => {
  it.scoped("an unknown provider and a duplicate id are listed even when another model has a schema error", () =>
    Effect.gen(function* () {
      const dir = yield* configDir({
        "models.json": {
          models: [
            rawModel("a", { provider: "openaii" }),
            rawModel("b", { pricing: { inputPerMillion: -1, outputPerMillion: 4 } }),
            rawModel("c"),
            rawModel("c", { fallbacks: ["nope"] })
          ]
        }
      })
      const problems = yield* validate(dir)
      assert.deepStrictEqual(problems.map(where(dir)), [
        "models.json:models[1].pricing.inputPerMillion",
        "models.json:models[0].provider",
        "models.json:models[3].id",
        "models.json:models[3].fallbacks[0]"
      ])
    }).pipe(withEnv({}), Effect.provide(NodeContext.layer)))
})

