import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { ModelRegistry, layer, layerMemory, loadFile } from "@modelgate/core/ModelRegistry"
import * as ModelStore from "@modelgate/core/ModelStore"
import type { Capability, ModelMetadata } from "@modelgate/domain/Model"
import { Chunk, Context, Effect, FastCheck as fc, Fiber, FiberRef, HashSet, Layer, Logger, Queue, Stream } from "effect"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { hangDetector, writeUntilObserved } from "./FileWatch.js"
import { model, rawModel } from "./ModelRegistryFixtures.js"

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")

const base = [
  model("gpt-4o-mini", { fallbacks: ["haiku"] }),
  model("haiku", { provider: "anthropic", providerModel: "claude-haiku-4-5", capabilities: ["chat", "vision"] })
]

/** Write `content` to a models file in a fresh temp directory; return its path. */
const writeModels = (content: unknown) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const p = yield* Path.Path
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "modelgate-models-" })
    const file = p.join(dir, "models.json")
    yield* fs.writeFileString(file, typeof content === "string" ? content : JSON.stringify(content))
    return file
  })

const registryFor = (file: string) => layer({ file }).pipe(Layer.provide(ModelStore.layerMemory), Layer.provide(NodeContext.layer))

describe("ModelRegistry: the shipped config/models.json", () => {
  it.effect("loads, and every provider, capability set and fallback chain is sound", () =>
    Effect.gen(function* () {
      const models = yield* loadFile(path.join(repoRoot, "config/models.json"))
      const providers = new Set(models.map((m) => m.provider))
      assert.deepStrictEqual([...providers].sort(), ["anthropic", "google", "ollama", "openai"])
      assert.strictEqual(models.filter((m) => m.provider === "ollama").length, 2)
      for (const m of models.filter((m) => m.provider === "ollama")) {
        assert.strictEqual(m.pricing.inputPerMillion + m.pricing.outputPerMillion, 0)
      }
      const mini = models.find((m) => m.id === "gpt-4o-mini")
      assert.deepStrictEqual(mini?.fallbacks.slice(0, 2), ["gemini-2.5-flash-lite", "claude-haiku-4-5"] as ReadonlyArray<string>)
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("ModelRegistry: invalid models files are rejected with file, path and reason", () => {
  const cases: ReadonlyArray<{ name: string; content: unknown; path: string; reason: RegExp }> = [
    { name: "bad JSON", content: "{ \"models\": [", path: "", reason: /not valid JSON/ },
    { name: "not an object", content: "[]", path: "", reason: /Expected/ },
    {
      name: "schema violation deep inside",
      content: { models: [rawModel("a"), rawModel("b"), rawModel("c"), rawModel("d", { pricing: { inputPerMillion: -1, outputPerMillion: 1 } })] },
      path: "models[3].pricing.inputPerMillion",
      reason: /non-negative|>= 0/
    },
    { name: "missing field", content: { models: [{ ...rawModel("a"), contextWindow: undefined }] }, path: "models[0].contextWindow", reason: /missing/ },
    { name: "unknown capability", content: { models: [rawModel("a", { capabilities: ["chat", "telepathy"] })] }, path: "models[0].capabilities[1]", reason: /telepathy/ },
    { name: "duplicate id", content: { models: [rawModel("a"), rawModel("a")] }, path: "models[1].id", reason: /duplicate model id "a"/ },
    { name: "unknown fallback id", content: { models: [rawModel("a", { fallbacks: ["a2", "nope"] }), rawModel("a2")] }, path: "models[0].fallbacks[1]", reason: /unknown fallback model id "nope"/ },
    { name: "unknown provider", content: { models: [rawModel("a", { provider: "acme" })] }, path: "models[0].provider", reason: /unknown provider "acme"/ },
    {
      name: "an unknown refused parameter",
      content: { models: [rawModel("a", { refusedParameters: ["temperature", "tempreature"] })] },
      path: "models[0].refusedParameters[1]",
      reason: /tempreature/
    },
    {
      name: "a reasoning effort the provider cannot take",
      content: { models: [rawModel("a"), rawModel("g", { provider: "google", reasoningEfforts: { low: 1024, high: true } })] },
      path: "models[1].reasoningEfforts.high",
      reason: /google takes a thinkingLevel name or a thinkingBudget of -1 \(dynamic\) or more tokens \(true given\)/
    }
  ]
  for (const c of cases) {
    it.scoped(c.name, () =>
      Effect.gen(function* () {
        const file = yield* writeModels(c.content)
        const error = yield* Effect.flip(Layer.build(registryFor(file)))
        assert.strictEqual(error._tag, "ConfigError")
        if (error._tag !== "ConfigError") return
        assert.strictEqual(error.file, file)
        assert.strictEqual(error.path, c.path)
        assert.match(error.reason, c.reason)
        assert.include(error.message, file)
      }).pipe(Effect.provide(NodeContext.layer)))
  }

  it.scoped("a missing file", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Layer.build(registryFor("/nonexistent/models.json")))
      assert.strictEqual(error._tag === "ConfigError" ? error.reason : "", "file not found")
    }))
})

describe("ModelRegistry: reload", () => {
  it.scoped("applies a valid file, keeps the running registry on an invalid one", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const file = yield* writeModels({ models: [rawModel("a"), rawModel("b")] })
      const ctx = yield* Layer.build(registryFor(file))
      const registry = Context.get(ctx, ModelRegistry)
      yield* registry.add(rawModel("added"))

      yield* fs.writeFileString(file, JSON.stringify({ models: [rawModel("a"), rawModel("b"), rawModel("c")] }))
      assert.deepStrictEqual((yield* registry.reload).map(ids), ["a", "b", "c", "added"])

      yield* fs.writeFileString(file, JSON.stringify({ models: [rawModel("a"), rawModel("a")] }))
      const error = yield* Effect.flip(registry.reload)
      assert.strictEqual(error.path, "models[1].id")
      assert.deepStrictEqual((yield* registry.all).map(ids), ["a", "b", "c", "added"])
    }).pipe(Effect.provide(NodeContext.layer)))
})

const ids = (m: ModelMetadata): string => m.id

describe("ModelRegistry: watching the file", () => {
  it.scopedLive("reloads on a valid change, keeps the registry on a bad one", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const file = yield* writeModels({ models: [rawModel("a")] })
      // The watcher's reload warnings (its fiber inherits this logger): a signal that it saw and rejected a file.
      const warnings = yield* Queue.unbounded<string>()
      const capture = Logger.make(({ logLevel, message }) => {
        if (logLevel._tag === "Warning") Queue.unsafeOffer(warnings, (Array.isArray(message) ? message : [message]).join(" "))
      })
      yield* Effect.locallyScopedWith(FiberRef.currentLoggers, HashSet.add(capture))
      const rejected = (matches: (message: string) => boolean) =>
        Queue.take(warnings).pipe(Effect.repeat({ until: (m) => m.includes("reload rejected") && matches(m) }))
      const ctx = yield* Layer.build(
        layer({ file, watch: true, debounce: "20 millis" }).pipe(Layer.provide(ModelStore.layerMemory), Layer.provide(NodeContext.layer))
      )
      const registry = Context.get(ctx, ModelRegistry)
      const waitFor = (expected: ReadonlyArray<string>) =>
        registry.changes.pipe(Stream.filter((models) => models.map(ids).join() === expected.join()), Stream.runHead, Effect.flatten)
      const history = yield* registry.changes.pipe(
        Stream.map((models) => models.map(ids).join()),
        Stream.takeUntil((list) => list === "c"),
        Stream.runCollect,
        Effect.fork
      )
      // The watcher starts in the background with no readiness signal: a write before it is live goes unseen.
      // So the first change is written again until it is applied; from then on the watcher is live.
      yield* writeUntilObserved(file, JSON.stringify({ models: [rawModel("a"), rawModel("b")] }), waitFor(["a", "b"]), "models a,b loaded by the watcher")
      // Each bad file is seen and rejected by the watcher (its warning logged) before the next write.
      yield* Queue.takeAll(warnings) // the loop's writes are whole: a rejection from here on is a bad file's
      yield* fs.writeFileString(file, "{ broken")
      yield* hangDetector(rejected((m) => m.includes(file)), "the broken models file rejected by the watcher")
      yield* fs.writeFileString(file, JSON.stringify({ models: [rawModel("x"), rawModel("x")] }))
      yield* hangDetector(rejected((m) => m.includes("models[1].id")), "the duplicate ids rejected by the watcher")
      yield* fs.writeFileString(file + ".other", "unrelated")
      yield* fs.writeFileString(file, JSON.stringify({ models: [rawModel("c")] }))
      yield* hangDetector(waitFor(["c"]), "models c loaded by the watcher")
      // Between the valid files, the invalid ones never showed: the registry went a -> a,b -> c.
      const seen = [...new Set(Chunk.toReadonlyArray(yield* hangDetector(Fiber.join(history), "the history of changes to end at c")))]
      assert.deepStrictEqual(seen.slice(-2), ["a,b", "c"])
      for (const state of seen) assert.include(["a", "a,b", "c"], state)
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("ModelRegistry: add and update", () => {
  const run = <A, E>(self: Effect.Effect<A, E, ModelRegistry>) => Effect.provide(self, layerMemory(base))

  it.effect("rejects duplicates, unknown providers, bad fields and unknown fallbacks, naming model and field", () =>
    run(
      Effect.gen(function* () {
        const registry = yield* ModelRegistry
        const check = (input: unknown, modelId: string, field: string) =>
          Effect.gen(function* () {
            const error = yield* Effect.flip(registry.add(input))
            assert.strictEqual(error._tag, "InvalidModel")
            if (error._tag !== "InvalidModel") return
            assert.strictEqual(error.modelId, modelId)
            assert.strictEqual(error.field, field)
            assert.include(error.message, modelId)
          })
        yield* check(rawModel("haiku"), "haiku", "id")
        yield* check(rawModel("x", { provider: "acme" }), "x", "provider")
        yield* check(rawModel("x", { pricing: { inputPerMillion: 1, outputPerMillion: -3 } }), "x", "pricing.outputPerMillion")
        yield* check(rawModel("x", { qualityScore: 2 }), "x", "qualityScore")
        yield* check(rawModel("x", { fallbacks: ["haiku", "ghost"] }), "x", "fallbacks[1]")
        yield* check(rawModel("x", { fallbacks: ["x"] }), "x", "fallbacks[0]")
        yield* check({ ...rawModel("x"), surprise: 1 }, "x", "surprise")
        yield* check(rawModel("x", { provider: "anthropic", reasoningEfforts: { low: 1024 } }), "x", "reasoningEfforts.low")
        yield* check(rawModel("x", { reasoningEfforts: { low: [] } }), "x", "reasoningEfforts.low")
        assert.deepStrictEqual((yield* registry.all).map(ids), ["gpt-4o-mini", "haiku"])
      })
    ))

  it.effect("update validates the patched model and never changes the id", () =>
    run(
      Effect.gen(function* () {
        const registry = yield* ModelRegistry
        const missing = yield* Effect.flip(registry.update("ghost", { enabled: false }))
        assert.strictEqual(missing._tag, "ModelNotFound")
        const rename = yield* Effect.flip(registry.update("haiku", { id: "other" }))
        assert.strictEqual(rename._tag === "InvalidModel" ? rename.field : "", "id")
        const provider = yield* Effect.flip(registry.update("haiku", { provider: "acme" }))
        assert.strictEqual(provider._tag === "InvalidModel" ? provider.field : "", "provider")
        const window = yield* Effect.flip(registry.update("haiku", { contextWindow: 0 }))
        assert.strictEqual(window._tag === "InvalidModel" ? window.field : "", "contextWindow")
        const effort = yield* Effect.flip(registry.update("haiku", { reasoningEfforts: { high: 24576 } }))
        assert.strictEqual(effort._tag === "InvalidModel" ? effort.field : "", "reasoningEfforts.high")
        const efforts = yield* registry.update("haiku", { reasoningEfforts: { high: "high" } })
        assert.deepStrictEqual(efforts.reasoningEfforts, { high: "high" })
        const updated = yield* registry.update("haiku", { id: "haiku", pricing: { inputPerMillion: 1, outputPerMillion: 5 } })
        assert.strictEqual(updated.pricing.outputPerMillion, 5)
        assert.strictEqual((yield* registry.get("haiku")).pricing.outputPerMillion, 5)
      })
    ))

  it.effect("changes emits the current list, then every change", () =>
    run(
      Effect.gen(function* () {
        const registry = yield* ModelRegistry
        const first = yield* registry.changes.pipe(Stream.take(1), Stream.runCollect)
        assert.deepStrictEqual(Chunk.toReadonlyArray(first).map((list) => list.map(ids)), [["gpt-4o-mini", "haiku"]])
        const fiber = yield* registry.changes.pipe(
          Stream.takeUntil((list) => list.some((m) => m.id === "new-one" && !m.enabled)),
          Stream.runCollect,
          Effect.fork
        )
        yield* registry.add(rawModel("new-one"))
        yield* registry.update("new-one", { enabled: false })
        const seen = Chunk.toReadonlyArray(yield* fiber.await.pipe(Effect.flatten))
        assert.deepStrictEqual(seen.at(-1)?.map(ids), ["gpt-4o-mini", "haiku", "new-one"])
      })
    ))
})

const capabilityArb = fc.constantFrom<Capability>("chat", "tools", "json_mode", "vision", "code", "reasoning", "long_context", "streaming")
const modelsArb = fc
  .uniqueArray(
    fc.record({
      id: fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/),
      provider: fc.constantFrom("openai", "anthropic", "google", "ollama"),
      capabilities: fc.uniqueArray(capabilityArb),
      input: fc.integer({ min: 0, max: 2000 }).map((c) => c / 100),
      output: fc.integer({ min: 0, max: 8000 }).map((c) => c / 100),
      enabled: fc.boolean()
    }),
    { selector: (r) => r.id, maxLength: 12 }
  )
  .map((rows) =>
    rows.map((r) =>
      model(r.id, {
        provider: r.provider,
        capabilities: r.capabilities,
        pricing: { inputPerMillion: r.input, outputPerMillion: r.output },
        enabled: r.enabled
      })
    )
  )

describe("ModelRegistry: query filtering", () => {
  it.effect.prop(
    "queries return exactly the models matching, in registry order",
    {
      models: modelsArb,
      wanted: fc.uniqueArray(capabilityArb, { maxLength: 3 }),
      provider: fc.constantFrom("openai", "anthropic", "google", "ollama", "acme"),
      range: fc.tuple(fc.integer({ min: 0, max: 8000 }), fc.integer({ min: 0, max: 8000 })).map(([a, b]) => [Math.min(a, b) / 100, Math.max(a, b) / 100] as const)
    },
    ({ models, provider, range, wanted }) =>
      Effect.gen(function* () {
        const registry = yield* ModelRegistry
        const [min, max] = range
        assert.deepStrictEqual((yield* registry.all).map(ids), models.map(ids))
        assert.deepStrictEqual((yield* registry.enabled).map(ids), models.filter((m) => m.enabled).map(ids))
        assert.deepStrictEqual((yield* registry.byProvider(provider)).map(ids), models.filter((m) => m.provider === provider).map(ids))
        assert.deepStrictEqual(
          (yield* registry.byCapabilities(wanted)).map(ids),
          models.filter((m) => wanted.every((c) => m.capabilities.includes(c))).map(ids)
        )
        const inRange = (p: number) => p >= min && p <= max
        assert.deepStrictEqual(
          (yield* registry.byCostRange(min, max)).map(ids),
          models.filter((m) => inRange(m.pricing.inputPerMillion) && inRange(m.pricing.outputPerMillion)).map(ids)
        )
        for (const m of models) {
          assert.strictEqual((yield* registry.resolve(`${m.provider}/${m.providerModel}`)).id, m.id)
        }
      }).pipe(Effect.provide(layerMemory(models))),
    { fastCheck: { numRuns: 100 } }
  )
})
