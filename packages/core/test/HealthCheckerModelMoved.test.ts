/**
 * A model moved to another provider while calls to its old one are in flight
 * (`PATCH /admin/models`, a models file reloaded, or its provider's `baseUrl`
 * changed by a reload): what those calls end
 * with tells of the old endpoint, not of the new one. Before, three calls
 * sent to a dead old endpoint that failed after the move took the model out
 * although its new provider answered every probe; and a model real calls had
 * taken out on its old provider stayed out on the new one until its retry.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Layer, TestClock } from "effect"
import { ApiKeys } from "../src/ApiKeys.js"
import * as Events from "../src/Events.js"
import * as GatewayConfig from "../src/GatewayConfig.js"
import { defaultConfig, GatewayConfigData, HealthCheckConfig, ProviderConfig } from "../src/GatewayConfigSchema.js"
import { HealthChecker } from "../src/HealthChecker.js"
import * as HealthCheckerModule from "../src/HealthChecker.js"
import * as ModelRegistry from "../src/ModelRegistry.js"
import { type Provider, Providers } from "../src/Provider.js"
import * as RecordSink from "../src/RecordSink.js"
import { noKeys } from "./KeylessApiKeys.js"
import { ConfigFiles, layerReloadable } from "./ReloadableConfig.js"
import { testModel } from "./TestModels.js"

/** A provider that needs no key and answers every probe. */
const healthy = (id: string): Provider => ({
  id,
  requiresKey: false,
  chat: () => Effect.die("not used"),
  stream: () => Effect.die("not used"),
  probe: () => Effect.succeed({ ok: true, latencyMs: 2, error: undefined })
})

const checkerOver = <R>(config: Layer.Layer<GatewayConfig.GatewayConfig | R, never, Events.Events>) =>
  HealthCheckerModule.layer.pipe(
    Layer.provideMerge(Layer.mergeAll(
      Layer.succeed(Providers, Providers.fromList([healthy("openai"), healthy("anthropic")])),
      ModelRegistry.layerMemory([testModel("m", { provider: "openai", providerModel: "gpt-x" })]),
      RecordSink.layerMemory,
      Layer.succeed(ApiKeys, noKeys)
    )),
    Layer.provideMerge(config),
    Layer.provideMerge(Events.layer)
  )

const testLayer = (healthCheck: HealthCheckConfig) =>
  checkerOver(GatewayConfig.layerStatic(new GatewayConfigData({ ...defaultConfig, healthCheck })))

/** The configuration with OpenAI at `baseUrl`, health checks off. */
const openAiAt = (baseUrl: string) =>
  new GatewayConfigData({
    ...defaultConfig,
    healthCheck: HealthCheckConfig.make({ enabled: false }),
    providers: { ...defaultConfig.providers, openai: ProviderConfig.make({ baseUrl }) }
  })

/** Let forked fibers run without moving the clock. */
const settle = Effect.repeatN(Effect.yieldNow(), 50)

/** Move `m` to anthropic, as `PATCH /admin/models` does. */
const moveToAnthropic = Effect.flatMap(ModelRegistry.ModelRegistry, (registry) =>
  registry.update("m", { provider: "anthropic", providerModel: "claude-x" }))

describe("HealthChecker: a model moved to another provider", () => {
  it.effect("calls sent to the old provider that fail after the move do not take the model out; calls sent after it do", () =>
    Effect.gen(function* () {
      const health = yield* HealthChecker
      yield* settle
      yield* TestClock.adjust("1 second")
      const sentBefore = yield* Clock.currentTimeMillis
      yield* TestClock.adjust("2 seconds")
      yield* moveToAnthropic
      yield* settle
      yield* TestClock.adjust("5 seconds")
      // Three calls in flight to the old (dead) endpoint fail now.
      for (let i = 0; i < 3; i++) yield* health.reportFailure("m", "Transport", sentBefore)
      const after = yield* health.status("m")
      assert.notStrictEqual(after.status, "unavailable", after.reason)
      assert.isTrue(yield* health.isAvailable("m"))
      // Calls sent to the new endpoint still count.
      const sentAfter = yield* Clock.currentTimeMillis
      for (let i = 0; i < 3; i++) yield* health.reportFailure("m", "ServerError", sentAfter)
      assert.strictEqual((yield* health.status("m")).status, "unavailable")
    }).pipe(Effect.provide(testLayer(HealthCheckConfig.make({ intervalMs: 60_000 })))))

  it.effect("a model real calls took out on its old provider starts over on the new one (no probes)", () =>
    Effect.gen(function* () {
      const health = yield* HealthChecker
      yield* settle
      const sent = yield* Clock.currentTimeMillis
      for (let i = 0; i < 3; i++) yield* health.reportFailure("m", "ServerError", sent)
      assert.isFalse(yield* health.isAvailable("m"))
      yield* TestClock.adjust("1 second")
      yield* moveToAnthropic
      yield* settle
      const moved = yield* health.status("m")
      assert.strictEqual(moved.status, "unknown", moved.reason)
      assert.strictEqual(moved.consecutiveFailures, 0)
      assert.isTrue(yield* health.isAvailable("m"))
    }).pipe(Effect.provide(testLayer(HealthCheckConfig.make({ enabled: false, intervalMs: 60_000 })))))

  it.effect("its provider's baseUrl changed by a reload: calls sent to the old address are not heard", () =>
    Effect.gen(function* () {
      const health = yield* HealthChecker
      const files = yield* ConfigFiles
      yield* settle
      const sentBefore = yield* Clock.currentTimeMillis
      yield* TestClock.adjust("2 seconds")
      yield* files.apply(openAiAt("https://eu.api.openai.com/v1"))
      yield* settle
      yield* TestClock.adjust("5 seconds")
      for (let i = 0; i < 3; i++) yield* health.reportFailure("m", "Timeout", sentBefore)
      assert.isTrue(yield* health.isAvailable("m"), (yield* health.status("m")).reason)
    }).pipe(Effect.provide(checkerOver(layerReloadable(openAiAt("https://api.openai.com/v1"))))))
})
