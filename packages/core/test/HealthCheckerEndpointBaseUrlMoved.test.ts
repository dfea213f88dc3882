/**
 * A provider given another `baseUrl` by a reload (its old address was down):
 * the run of failures with no answer at the old address says nothing of the
 * new one. Before, two calls refused at the old address and one at the new
 * one made "three in a row" and took out every model of the provider at its
 * new address, although `failureThreshold` is three there.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Layer, TestClock } from "effect"
import * as ApiKeys from "../src/ApiKeys.js"
import * as Events from "../src/Events.js"
import { defaultConfig, GatewayConfigData, HealthCheckConfig, ProviderConfig } from "../src/GatewayConfigSchema.js"
import * as HealthCheckerModule from "../src/HealthChecker.js"
import { HealthChecker } from "../src/HealthChecker.js"
import * as ModelRegistry from "../src/ModelRegistry.js"
import { Providers } from "../src/Provider.js"
import * as RecordSink from "../src/RecordSink.js"
import { idleProvider } from "./IdleProvider.js"
import { ConfigFiles, layerReloadable } from "./ReloadableConfig.js"
import { testModel } from "./TestModels.js"

/** OpenAI at `baseUrl`; passive signals only, three failures in a row make a model unavailable. */
const openAiAt = (baseUrl: string) =>
  new GatewayConfigData({
    ...defaultConfig,
    healthCheck: HealthCheckConfig.make({ enabled: false, failureThreshold: 3, intervalMs: 60_000 }),
    providers: { ...defaultConfig.providers, openai: ProviderConfig.make({ baseUrl }) }
  })

const testLayer = HealthCheckerModule.layer.pipe(
  Layer.provideMerge(Layer.mergeAll(
    ModelRegistry.layerMemory([testModel("gpt"), testModel("mini")]),
    RecordSink.layerMemory,
    Layer.succeed(Providers, Providers.fromList([idleProvider("openai")])),
    ApiKeys.layerStatic({})
  )),
  Layer.provideMerge(layerReloadable(openAiAt("https://old.example.com/v1"))),
  Layer.provideMerge(Events.layer)
)

/** Let the checker's fibers run. */
const settle = Effect.repeatN(Effect.yieldNow(), 50)

describe("HealthChecker: a provider moved to another base URL", () => {
  it.effect("failures with no answer at the old address do not count toward the new address's run", () =>
    Effect.gen(function* () {
      const health = yield* HealthChecker
      const files = yield* ConfigFiles
      yield* settle
      const sentBefore = yield* Clock.currentTimeMillis
      yield* health.reportFailure("gpt", "Transport", sentBefore, "down")
      yield* health.reportFailure("mini", "Transport", sentBefore, "down")
      yield* TestClock.adjust("1 second")
      yield* files.apply(openAiAt("https://new.example.com/v1"))
      yield* settle
      yield* TestClock.adjust("1 second")
      const sentAfter = yield* Clock.currentTimeMillis
      yield* health.reportFailure("gpt", "Transport", sentAfter, "down")
      const [gpt, mini] = [yield* health.status("gpt"), yield* health.status("mini")]
      assert.notStrictEqual(gpt.status, "unavailable", gpt.reason)
      assert.notStrictEqual(mini.status, "unavailable", mini.reason)
      // Three in a row at the new address do take both out.
      yield* health.reportFailure("mini", "Transport", sentAfter, "down")
      yield* health.reportFailure("gpt", "Transport", sentAfter, "down")
      assert.strictEqual((yield* health.status("mini")).status, "unavailable")
    }).pipe(Effect.provide(testLayer)))
})
