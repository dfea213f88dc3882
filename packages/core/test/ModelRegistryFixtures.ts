import { ModelMetadata } from "@modelgate/domain/Model"
import { Schema } from "effect"

/** A valid encoded model; override any field. */
export const rawModel = (id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  id,
  provider: "openai",
  providerModel: id,
  displayName: id.toUpperCase(),
  capabilities: ["chat", "streaming"],
  contextWindow: 128_000,
  maxOutputTokens: 16_384,
  pricing: { inputPerMillion: 1, outputPerMillion: 4 },
  rateLimits: { rpm: 500, tpm: 200_000 },
  qualityTier: "standard",
  qualityScore: 0.7,
  ...overrides
})

/** A decoded model. */
export const model = (id: string, overrides: Record<string, unknown> = {}): ModelMetadata =>
  Schema.decodeUnknownSync(ModelMetadata)(rawModel(id, overrides))
