/**
 * The plain model the service tests (budget, cost tracker, health checker,
 * rate limiter, batch selection) run on: a chat model at $1/$2 per million
 * tokens, 100 rpm, 100k tpm, quality 0.5.
 */
import type { ModelMetadata } from "@modelgate/domain/Model"
import { model } from "./ModelRegistryFixtures.js"

/** A plain chat model on "openai" named `id`; override any field. */
export const testModel = (id: string, overrides: Record<string, unknown> = {}): ModelMetadata =>
  model(id, {
    displayName: id,
    capabilities: ["chat"],
    maxOutputTokens: 4_096,
    pricing: { inputPerMillion: 1, outputPerMillion: 2 },
    rateLimits: { rpm: 100, tpm: 100_000 },
    qualityScore: 0.5,
    ...overrides
  })

/** A model the rate-limiter tests limit to `rpm` requests and `tpm` tokens a minute. */
export const limitedModel = (rpm: number, tpm: number, id = "m1"): ModelMetadata => testModel(id, { rateLimits: { rpm, tpm } })
