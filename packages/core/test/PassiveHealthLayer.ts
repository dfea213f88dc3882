/**
 * The checker with health probes off (passive signals only): three failures
 * in a row make a model unavailable, retried after 60 s; a run of failures
 * lasts 2 × 60 s + 10 s = 130 s after its last. Adapters that no test calls.
 */
import type { ModelMetadata } from "@modelgate/domain/Model"
import { Effect, Layer, Stream } from "effect"
import * as ApiKeys from "../src/ApiKeys.js"
import * as Events from "../src/Events.js"
import { GatewayConfig } from "../src/GatewayConfig.js"
import { defaultConfig, GatewayConfigData, HealthCheckConfig } from "../src/GatewayConfigSchema.js"
import * as HealthCheckerModule from "../src/HealthChecker.js"
import { Providers } from "../src/Provider.js"
import * as RecordSink from "../src/RecordSink.js"
import { idleProvider } from "./IdleProvider.js"
import { layerReloadableModels } from "./ReloadableModels.js"

const config = new GatewayConfigData({
  ...defaultConfig,
  healthCheck: HealthCheckConfig.make({ enabled: false, failureThreshold: 3, intervalMs: 60_000, timeoutMs: 10_000 })
})

/** The passive checker over `models`, with an idle adapter for each of `providers`. */
export const passiveHealthLayer = (models: ReadonlyArray<ModelMetadata>, providers: ReadonlyArray<string>) =>
  HealthCheckerModule.layer.pipe(
    Layer.provideMerge(Layer.mergeAll(
      Layer.succeed(GatewayConfig, GatewayConfig.of({
        get: Effect.succeed(config),
        changes: Stream.concat(Stream.make(config), Stream.never),
        reload: Effect.succeed(config)
      })),
      layerReloadableModels(models),
      RecordSink.layerMemory,
      Events.layer,
      Layer.succeed(Providers, Providers.fromList(providers.map(idleProvider))),
      ApiKeys.layerStatic({})
    ))
  )
