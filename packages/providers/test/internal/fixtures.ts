/**
 * Shared fixtures of the adapter tests: a model, a key, a request.
 */
import type { CallContext, ProviderKey } from "@modelgate/core/Provider"
import type { ChatRequest } from "@modelgate/domain/Chat"
import { ModelId, ProviderId } from "@modelgate/domain/Ids"
import { ModelMetadata, Pricing, RateLimits } from "@modelgate/domain/Model"
import { Redacted } from "effect"

/** A model whose gateway id differs from the provider's model name. */
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

/** A key with id `<provider>#1`. */
export const keyOf = (provider: string, value: string): ProviderKey => ({ id: `${provider}#1`, value: Redacted.make(value) })

/** A call context for a request. */
export const ctxOf = (model: ModelMetadata, key: ProviderKey | undefined, request: Partial<ChatRequest> = {}): CallContext => ({
  model,
  key,
  request: { model: model.id, messages: [{ role: "user", content: "hello there" }], ...request }
})
