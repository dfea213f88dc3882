/**
 * A host that embeds the gateway may hand `GatewayLive.layerWith` its own
 * registry (`ModelRegistry.layerMemory`) and its own configuration
 * (`GatewayConfig.layerStatic`) instead of the files of a config directory:
 * the gateway then answers on the host's models under the host's config (here:
 * no response cache), and reads no file (the directory given does not exist).
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import * as GatewayConfig from "@modelgate/core/GatewayConfig"
import { defaultConfig } from "@modelgate/core/GatewayConfigSchema"
import * as ModelRegistry from "@modelgate/core/ModelRegistry"
import { Providers } from "@modelgate/core/Provider"
import * as GatewayLive from "@modelgate/node/GatewayLive"
import { modelOf } from "@modelgate/testkit/TestModel"
import { Effect, Layer } from "effect"
import { double } from "./ProviderDouble.js"

describe("GatewayLive.layerWith with the host's registry and config", () => {
  it.scopedLive("answers on the given models under the given config, reading no config file", () =>
    Effect.gen(function* () {
      const layer = GatewayLive.layerWith({
        configDirectory: "/nonexistent/modelgate-config",
        databaseFile: ":memory:",
        watch: false,
        config: GatewayConfig.layerStatic({ ...defaultConfig, cache: { ...defaultConfig.cache, enabled: false } }),
        registry: ModelRegistry.layerMemory([modelOf("openai", "host-model", "host-model")]),
        providers: Layer.succeed(Providers, Providers.fromList([double("openai")]))
      })
      // The given config turns the cache off: the same deterministic request twice is answered twice.
      const [first, second] = yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const ask = gateway.complete(
          { model: "auto", temperature: 0, messages: [{ role: "user", content: "Hello" }] },
          { capabilities: ["chat"], priority: "LOW" }
        )
        return [yield* ask, yield* ask] as const
      }).pipe(Effect.provide(layer))
      assert.strictEqual(first.meta.model, "host-model")
      assert.strictEqual(first.response.choices[0]!.message.content, "hello from openai")
      assert.isFalse(second.meta.cacheHit)
    }))
})
