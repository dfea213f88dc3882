/**
 * The `Providers` table of the four shipped adapters, each reading its
 * endpoint from the running GatewayConfig on every call (so a reload applies).
 */
import { defaultProviders, type ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import { GatewayConfig } from "@modelgate/core/GatewayConfig"
import { Providers } from "@modelgate/core/Provider"
import * as Anthropic from "@modelgate/providers/Anthropic"
import * as Google from "@modelgate/providers/Google"
import * as Ollama from "@modelgate/providers/Ollama"
import * as OpenAi from "@modelgate/providers/OpenAi"
import type { HttpClient } from "@effect/platform"
import { Effect, Layer } from "effect"

/** The adapter constructors by provider id. */
export const adapters = {
  openai: OpenAi.make,
  anthropic: Anthropic.make,
  google: Google.make,
  ollama: Ollama.make
} as const

/** All four adapters on the given HttpClient, configured from GatewayConfig; closing the layer stops their deadline watchdogs. */
export const layer: Layer.Layer<Providers, never, GatewayConfig | HttpClient.HttpClient> = Layer.scoped(
  Providers,
  Effect.gen(function* () {
    const config = yield* GatewayConfig
    const configOf = (id: keyof typeof adapters): Effect.Effect<ProviderConfig> =>
      Effect.map(config.get, (c) => c.providers[id] ?? defaultProviders[id]!)
    const list = yield* Effect.all(
      (Object.keys(adapters) as Array<keyof typeof adapters>).map((id) => adapters[id](configOf(id)))
    )
    return Providers.fromList(list)
  })
)
