/**
 * A model's metadata for tests that call a provider adapter: only the
 * provider and its model name matter to them, the rest is plausible filler.
 */
import { ModelId, ProviderId } from "@modelgate/domain/Ids"
import { ModelMetadata, Pricing, RateLimits } from "@modelgate/domain/Model"

/** A model of `provider` named `providerModel` there, with gateway id `id` (by default `<provider>-test`, unlike the provider's name). */
export const modelOf = (provider: string, providerModel: string, id = `${provider}-test`) =>
  ModelMetadata.make({
    id: ModelId.make(id),
    provider: ProviderId.make(provider),
    providerModel,
    displayName: `${providerModel} (test)`,
    capabilities: ["chat", "tools", "json_mode", "streaming"],
    contextWindow: 128_000,
    maxOutputTokens: 4_096,
    pricing: Pricing.make({ inputPerMillion: 1, outputPerMillion: 2 }),
    rateLimits: RateLimits.make({ rpm: 500, tpm: 200_000 }),
    qualityTier: "standard",
    qualityScore: 0.7
  })
