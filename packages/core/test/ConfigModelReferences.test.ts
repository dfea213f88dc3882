/**
 * Model ids the configuration names outside `models.json` (a budget's
 * `budgets.perModel` key, a virtual key's `models`) and model fields that
 * contradict each other. A typo must be reported, not budget nothing; a model
 * removed while a budget still names it must not make the configuration
 * unloadable (a warning at start and after each change).
 */
import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { validate } from "@modelgate/core/GatewayConfig"
import { warnUnknownBudgetModels } from "@modelgate/core/CostTracker/UnknownModels"
import { BudgetLimit, BudgetsConfig, defaultConfig, GatewayConfigData } from "@modelgate/core/GatewayConfigSchema"
import * as GatewayConfig from "@modelgate/core/GatewayConfig"
import { ModelRegistry, layerMemory, make as makeRegistry } from "@modelgate/core/ModelRegistry"
import * as ModelStore from "@modelgate/core/ModelStore"
import type { ModelMetadata } from "@modelgate/domain/Model"
import { ConfigProvider, Effect, Logger, Ref, TestClock } from "effect"
import * as path from "node:path"
import { model, rawModel } from "./ModelRegistryFixtures.js"

const configDir = (files: Record<string, unknown>) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const p = yield* Path.Path
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "modelgate-refs-" })
    yield* fs.makeDirectory(p.join(dir, "environments"))
    for (const [name, content] of Object.entries(files)) {
      yield* fs.writeFileString(p.join(dir, name), typeof content === "string" ? content : JSON.stringify(content))
    }
    return dir
  })

const noEnv = Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
const where = (dir: string) => (e: { readonly file: string; readonly path: string }) => `${path.relative(dir, e.file)}:${e.path}`
const digest = "a".repeat(64)

/** A logger keeping the text of every warning. */
const captureWarnings = () => {
  const warnings: Array<string> = []
  const logger = Logger.make(({ logLevel, message }) => {
    if (logLevel._tag === "Warning") warnings.push(Array.isArray(message) ? message.join(" ") : String(message))
  })
  return { logger, warnings }
}

describe("config validate: model ids named outside models.json", () => {
  it.scoped("a budget or a virtual key naming a model models.json lacks is a problem, named by file and path, whatever else is wrong", () =>
    Effect.gen(function* () {
      const dir = yield* configDir({
        "models.json": { models: [rawModel("gpt-4o-mini"), rawModel("haiku")] },
        "gateway.json": {
          cache: { enabled: "yes" },
          budgets: { perModel: { "gpt-4o-mni": { daily: 5 }, haiku: { daily: 1 } } },
          auth: { virtualKeys: [{ name: "search", sha256: digest, models: ["haiku", "gpt4o-mini"] }] }
        },
        "environments/production.json": { budgets: { perModel: { haiku: { daily: 2 }, "claude-sonet": { monthly: 9 } } } }
      })
      const problems = yield* validate(dir)
      assert.deepStrictEqual(problems.map(where(dir)), [
        "gateway.json:cache.enabled",
        `gateway.json:budgets.perModel["gpt-4o-mni"]`,
        "gateway.json:auth.virtualKeys[0].models[1]",
        `environments/production.json:budgets.perModel["claude-sonet"]`
      ])
      assert.include(problems[1]!.reason, `"gpt-4o-mni"`)
      assert.include(problems[1]!.reason, "models.json")
    }).pipe(noEnv, Effect.provide(NodeContext.layer)))

  it.scoped("with a problem in models.json too: the references are still checked, against every id it names", () =>
    Effect.gen(function* () {
      const dir = yield* configDir({
        "models.json": { models: [rawModel("gpt-4o-mini", { contextWindow: -1 }), rawModel("haiku")] },
        "gateway.json": {
          budgets: { perModel: { "gpt-4o-mini": { daily: 5 }, "gpt-4o-mni": { daily: 5 } } },
          auth: { virtualKeys: [{ name: "search", sha256: digest, models: ["haiku", "haiku-4"] }] }
        }
      })
      const problems = yield* validate(dir)
      assert.deepStrictEqual(problems.map(where(dir)), [
        "models.json:models[0].contextWindow",
        `gateway.json:budgets.perModel["gpt-4o-mni"]`,
        "gateway.json:auth.virtualKeys[0].models[1]"
      ])
    }).pipe(noEnv, Effect.provide(NodeContext.layer)))

  it.scoped("a directory whose references all exist is valid", () =>
    Effect.gen(function* () {
      const dir = yield* configDir({
        "models.json": { models: [rawModel("haiku")] },
        "gateway.json": { budgets: { perModel: { haiku: { daily: 1 } } }, auth: { virtualKeys: [{ name: "s", sha256: digest, models: ["haiku"] }] } }
      })
      assert.deepStrictEqual(yield* validate(dir), [])
    }).pipe(noEnv, Effect.provide(NodeContext.layer)))
})

describe("maxOutputTokens over contextWindow", () => {
  it.scoped("a models file with one is rejected, naming the model's field", () =>
    Effect.gen(function* () {
      const dir = yield* configDir({ "models.json": { models: [rawModel("a"), rawModel("b", { contextWindow: 8192, maxOutputTokens: 16384 })] } })
      const problems = yield* validate(dir)
      assert.deepStrictEqual(problems.map(where(dir)), ["models.json:models[1].maxOutputTokens"])
      assert.include(problems[0]!.reason, "8192")
    }).pipe(noEnv, Effect.provide(NodeContext.layer)))

  it.effect("add and update refuse one and change nothing", () =>
    Effect.gen(function* () {
      const registry = yield* ModelRegistry
      const added = yield* Effect.flip(registry.add(rawModel("x", { contextWindow: 4096, maxOutputTokens: 8192 })))
      assert.strictEqual(added._tag === "InvalidModel" ? added.field : added._tag, "maxOutputTokens")
      const shrunk = yield* Effect.flip(registry.update("haiku", { contextWindow: 1000 }))
      assert.strictEqual(shrunk._tag === "InvalidModel" ? shrunk.field : shrunk._tag, "maxOutputTokens")
      const grown = yield* Effect.flip(registry.update("haiku", { maxOutputTokens: 200_000 }))
      assert.strictEqual(grown._tag === "InvalidModel" ? grown.field : grown._tag, "maxOutputTokens")
      const all = yield* registry.all
      assert.deepStrictEqual(all.map((m) => [m.id, m.contextWindow, m.maxOutputTokens]), [["haiku", 128_000, 16_384]])
      // Equal is fine: the whole window for the answer.
      const equal = yield* registry.update("haiku", { contextWindow: 16_384 })
      assert.strictEqual(equal.contextWindow, 16_384)
    }).pipe(Effect.provide(layerMemory([model("haiku")]))))
})

describe("maxOutputTokens over contextWindow after a reload", () => {
  it.effect("a stored update the file's new contextWindow cannot hold is warned of, the registry kept loaded", () =>
    Effect.gen(function* () {
      const { logger, warnings } = captureWarnings()
      const file = yield* Ref.make<ReadonlyArray<ModelMetadata>>([model("a", { contextWindow: 64_000, maxOutputTokens: 8_000 })])
      const registry = yield* makeRegistry({ load: Ref.get(file) }).pipe(Effect.provide(ModelStore.layerMemory))
      yield* registry.update("a", { maxOutputTokens: 32_000 })
      yield* Ref.set(file, [model("a", { contextWindow: 16_000, maxOutputTokens: 8_000 })])
      const reloaded = yield* registry.reload.pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
      assert.deepStrictEqual(reloaded.map((m) => [m.id, m.contextWindow, m.maxOutputTokens]), [["a", 16_000, 32_000]])
      assert.strictEqual(warnings.length, 1)
      assert.include(warnings[0], "a: maxOutputTokens 32000 is more than the contextWindow of 16000")
    }))
})

describe("a model added through the admin API that the models file then defines", () => {
  it.effect("stays the added one, and the reload warns that the file's entry is not in force", () =>
    Effect.gen(function* () {
      const { logger, warnings } = captureWarnings()
      const file = yield* Ref.make<ReadonlyArray<ModelMetadata>>([model("a")])
      const registry = yield* makeRegistry({ load: Ref.get(file) }).pipe(Effect.provide(ModelStore.layerMemory))
      yield* registry.add(rawModel("trial", { pricing: { inputPerMillion: 1, outputPerMillion: 4 } }))
      yield* Ref.set(file, [model("a"), model("trial", { pricing: { inputPerMillion: 2, outputPerMillion: 8 } })])
      const reloaded = yield* registry.reload.pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
      assert.deepStrictEqual(reloaded.map((m) => [m.id, m.pricing.inputPerMillion]), [["a", 1], ["trial", 1]])
      assert.strictEqual(warnings.length, 1, warnings.join("\n"))
      assert.include(warnings[0], "trial: the models file's entry is not in force")
    }))
})

describe("update with a body that is not an object", () => {
  it.effect("[] and other non-objects are refused as invalid, the model unchanged", () =>
    Effect.gen(function* () {
      const registry = yield* ModelRegistry
      for (const body of [[], [{ enabled: false }], null, "enabled", 3]) {
        const error = yield* Effect.flip(registry.update("haiku", body))
        assert.strictEqual(error._tag, "InvalidModel", JSON.stringify(body))
        if (error._tag === "InvalidModel") assert.match(error.reason, /object/, JSON.stringify(body))
      }
      assert.deepStrictEqual(yield* registry.all, [model("haiku")])
    }).pipe(Effect.provide(layerMemory([model("haiku")]))))
})

describe("at run time: budgets naming a model the registry lacks", () => {
  it.scoped("are warned of at start and after a reload removes the model, and the configuration stays loaded", () =>
    Effect.gen(function* () {
      const { logger, warnings } = captureWarnings()
      const files = yield* Ref.make<ReadonlyArray<ModelMetadata>>([model("a"), model("b")])
      const registry = yield* makeRegistry({ load: Ref.get(files) }).pipe(Effect.provide(ModelStore.layerMemory))
      const config = GatewayConfigData.make({
        ...defaultConfig,
        budgets: BudgetsConfig.make({ ...defaultConfig.budgets, perModel: { b: BudgetLimit.make({ daily: 1 }), "gpt-4o-mni": BudgetLimit.make({ daily: 1 }) } })
      })
      yield* warnUnknownBudgetModels.pipe(
        Effect.provideService(ModelRegistry, registry),
        Effect.provide(GatewayConfig.layerStatic(config)),
        Effect.provide(Logger.replace(Logger.defaultLogger, logger))
      )
      yield* TestClock.adjust(1)
      assert.strictEqual(warnings.length, 1)
      assert.include(warnings[0], `budgets.perModel["gpt-4o-mni"]`)
      yield* Ref.set(files, [model("a")])
      yield* registry.reload
      yield* TestClock.adjust(1)
      assert.strictEqual(warnings.length, 2)
      assert.include(warnings[1], `budgets.perModel.b`)
      assert.include(warnings[1], `budgets.perModel["gpt-4o-mni"]`)
      // The same set again warns no more.
      yield* registry.reload
      yield* TestClock.adjust(1)
      assert.strictEqual(warnings.length, 2)
    }))
})
