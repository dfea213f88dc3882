/**
 * The monitor and the registry: a model the registry removes leaves no
 * figures behind (its windows are dropped, a call in flight that finishes
 * afterwards is recorded but not counted), the same id added again starts
 * with no history, and a reload that keeps a model keeps its figures.
 */
import { assert, describe, it } from "@effect/vitest"
import { PerformanceRecord } from "@modelgate/domain/Records"
import { Clock, Effect, Layer, Option } from "effect"
import * as Events from "../src/Events.js"
import * as GatewayConfig from "../src/GatewayConfig.js"
import { defaultConfig } from "../src/GatewayConfigSchema.js"
import * as PerformanceMonitor from "../src/PerformanceMonitor.js"
import * as RecordSink from "../src/RecordSink.js"
import { layerReloadableModels, ModelsFile } from "./ReloadableModels.js"
import { testModel } from "./TestModels.js"

const gpt = testModel("gpt")
const claude = testModel("claude", { provider: "anthropic", providerModel: "claude-v1" })

const testLayer = PerformanceMonitor.layer.pipe(
  Layer.provideMerge(Layer.mergeAll(RecordSink.layerMemory, layerReloadableModels([gpt, claude]), GatewayConfig.layerStatic(defaultConfig))),
  Layer.provide(Events.layer)
)

/** Record one successful call of `model` made now. */
const call = (model: string) =>
  Effect.gen(function* () {
    const monitor = yield* PerformanceMonitor.PerformanceMonitor
    const at = yield* Clock.currentTimeMillis
    yield* monitor.record(PerformanceRecord.make({
      at, requestId: `${model}-${at}`, model, provider: "openai", latencyMs: 100, success: true, outputTokens: 5, streamed: false, cacheHit: false
    }))
  })

/** The models the monitor has figures for. */
const listed = Effect.flatMap(PerformanceMonitor.PerformanceDetails, (d) => d.allPerformance).pipe(
  Effect.map((all) => all.map((p) => p.model).sort())
)

/** Let the monitor's registry fiber run. */
const settle = Effect.repeatN(Effect.yieldNow(), 20)

describe("PerformanceMonitor: models the registry removes", () => {
  it.effect("a removed model's figures are dropped; a late call is recorded, not counted; re-added, it starts fresh", () =>
    Effect.gen(function* () {
      const file = yield* ModelsFile
      const monitor = yield* PerformanceMonitor.PerformanceMonitor
      yield* settle
      yield* call("gpt")
      yield* call("claude")
      assert.deepStrictEqual(yield* listed, ["claude", "gpt"])
      yield* file.apply([claude])
      yield* settle
      assert.deepStrictEqual(yield* listed, ["claude"], "the removed model's window is still held")
      // A call that was in flight when gpt was removed finishes now.
      yield* call("gpt")
      assert.deepStrictEqual(yield* listed, ["claude"], "a late call brought the removed model back")
      const records = yield* Effect.flatMap(RecordSink.MemoryRecords, (m) => m.all)
      assert.strictEqual(records.filter((r) => r._tag === "PerformanceRecord" && r.model === "gpt").length, 2)
      yield* file.apply([claude, gpt])
      yield* settle
      assert.isTrue(Option.isNone(yield* monitor.modelPerformance("gpt")), "the re-added model kept the old history")
      yield* call("gpt")
      assert.strictEqual(Option.getOrThrow(yield* monitor.modelPerformance("gpt")).requests, 1)
    }).pipe(Effect.provide(testLayer)))

  it.effect("a reload that keeps a model (its price changed) keeps its figures", () =>
    Effect.gen(function* () {
      const file = yield* ModelsFile
      const monitor = yield* PerformanceMonitor.PerformanceMonitor
      yield* settle
      yield* call("gpt")
      yield* call("gpt")
      yield* file.apply([testModel("gpt", { pricing: { inputPerMillion: 5, outputPerMillion: 10 } }), claude])
      yield* file.apply([claude, gpt])
      yield* settle
      assert.strictEqual(Option.getOrThrow(yield* monitor.modelPerformance("gpt")).requests, 2)
    }).pipe(Effect.provide(testLayer)))
})
