/**
 * The monitor and a model moved to another endpoint while the gateway runs:
 * its latency percentiles, success rate and degradation baseline were the old
 * endpoint's, so they start over (the selector ranks the new provider by
 * what it does); a call sent to the old endpoint that finishes after the move
 * is recorded but not counted. Before, the new provider was ranked by the old
 * one's slow, failing calls. A change that keeps the endpoint keeps it all.
 */
import { assert, describe, it } from "@effect/vitest"
import { PerformanceRecord } from "@modelgate/domain/Records"
import { Clock, Effect, Layer, Option, TestClock } from "effect"
import * as Events from "../src/Events.js"
import { defaultConfig, GatewayConfigData, ProviderConfig } from "../src/GatewayConfigSchema.js"
import * as PerformanceMonitor from "../src/PerformanceMonitor.js"
import * as RecordSink from "../src/RecordSink.js"
import { ConfigFiles, layerReloadable } from "./ReloadableConfig.js"
import { layerReloadableModels, ModelsFile } from "./ReloadableModels.js"
import { testModel } from "./TestModels.js"

const onOpenAi = testModel("m", { provider: "openai", providerModel: "gpt-x" })
const onAnthropic = testModel("m", { provider: "anthropic", providerModel: "claude-x" })

/** The configuration with OpenAI at `baseUrl`. */
const withOpenAi = (baseUrl: string) =>
  new GatewayConfigData({ ...defaultConfig, providers: { ...defaultConfig.providers, openai: ProviderConfig.make({ baseUrl }) } })

const testLayer = PerformanceMonitor.layer.pipe(
  Layer.provideMerge(Layer.mergeAll(RecordSink.layerMemory, layerReloadableModels([onOpenAi]))),
  Layer.provideMerge(layerReloadable(withOpenAi("https://api.openai.com/v1"))),
  Layer.provideMerge(Events.layer)
)

/** Record one call of `m` on `provider` that took `latencyMs` and ends now. */
const call = (provider: string, latencyMs: number, success = true) =>
  Effect.gen(function* () {
    const monitor = yield* PerformanceMonitor.PerformanceMonitor
    const at = yield* Clock.currentTimeMillis
    yield* monitor.record(PerformanceRecord.make({
      at,
      requestId: `r-${at}-${latencyMs}`,
      model: "m",
      provider,
      latencyMs,
      success,
      ...(success ? {} : { errorClass: "ServerError" }),
      outputTokens: success ? 5 : 0,
      streamed: false,
      cacheHit: false
    }))
  })

/** Twenty calls of `m` on openai, one a second: slow, a third of them failed. */
const slowHistory = Effect.forEach(Array.from({ length: 20 }, (_, i) => i), (i) =>
  Effect.zipRight(TestClock.adjust("1 second"), call("openai", 8_000, i % 3 !== 0)), { discard: true })

const performance = Effect.flatMap(PerformanceMonitor.PerformanceMonitor, (m) => Effect.map(m.modelPerformance("m"), Option.getOrThrow))

/** Let the monitor's fibers run. */
const settle = Effect.repeatN(Effect.yieldNow(), 20)

describe("PerformanceMonitor: a model moved to another endpoint", () => {
  it.effect("moved to another provider: its figures start over; a late call of the old provider is not counted", () =>
    Effect.gen(function* () {
      const file = yield* ModelsFile
      yield* settle
      yield* slowHistory
      assert.strictEqual((yield* performance).requests, 20)
      yield* file.apply([onAnthropic])
      yield* settle
      yield* TestClock.adjust("1 second")
      yield* call("anthropic", 200)
      // A call sent to openai 5 s ago, before the move, fails now.
      yield* call("openai", 5_000, false)
      const p = yield* performance
      assert.strictEqual(p.requests, 1)
      assert.strictEqual(p.successRate, 1)
      assert.strictEqual(p.latencyP50Ms, 200)
    }).pipe(Effect.provide(testLayer)))

  it.effect("its provider's baseUrl changed by a reload: its figures start over; another config change keeps them", () =>
    Effect.gen(function* () {
      const files = yield* ConfigFiles
      yield* settle
      yield* slowHistory
      yield* files.apply(new GatewayConfigData({ ...withOpenAi("https://api.openai.com/v1"), logLevel: "debug" }))
      yield* settle
      assert.strictEqual((yield* performance).requests, 20, "a reload that kept the endpoint dropped the figures")
      yield* files.apply(withOpenAi("https://eu.api.openai.com/v1"))
      yield* settle
      yield* TestClock.adjust("1 second")
      yield* call("openai", 300)
      const p = yield* performance
      assert.strictEqual(p.requests, 1)
      assert.strictEqual(p.latencyP50Ms, 300)
    }).pipe(Effect.provide(testLayer)))
})
