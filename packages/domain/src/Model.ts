/**
 * Model metadata: what the registry knows of every model.
 */
import { Schema } from "effect"
import { ModelId, ProviderId } from "./Ids.js"
import { ReasoningEfforts, RefusedParameter } from "./ModelParameters.js"

/** What a model can do; a request's requirements name a subset of these. */
export const Capability = Schema.Literal(
  "chat",
  "tools",
  "json_mode",
  "vision",
  "code",
  "reasoning",
  "long_context",
  "streaming"
)
export type Capability = typeof Capability.Type

const NonNegative = Schema.Number.pipe(Schema.finite(), Schema.nonNegative())
const PositiveInt = Schema.Int.pipe(Schema.positive())

const prices = {
  inputPerMillion: NonNegative,
  outputPerMillion: NonNegative,
  cachedInputPerMillion: Schema.optional(NonNegative),
  cacheWriteInputPerMillion: Schema.optional(NonNegative),
  cacheWriteHourInputPerMillion: Schema.optional(NonNegative),
  audioInputPerMillion: Schema.optional(NonNegative),
  cachedAudioInputPerMillion: Schema.optional(NonNegative)
}

/**
 * The prices of a request whose prompt is over `aboveTokens` tokens (cache
 * reads and writes included), for every token of it: Gemini 2.5 Pro over
 * 200k, Claude's 1M-token context over 200k. A complete price set: a missing
 * price is its own input price, as in `Pricing`.
 */
export class LongContextPricing extends Schema.Class<LongContextPricing>("LongContextPricing")({
  aboveTokens: PositiveInt,
  ...prices
}) {}

/**
 * Prices in USD per 1M tokens: input, output, prompt-cache reads
 * (`cachedInputPerMillion`) and Anthropic's prompt-cache writes
 * (`cacheWriteInputPerMillion` for the 5-minute lifetime,
 * `cacheWriteHourInputPerMillion` for the 1-hour one) and audio input
 * (`audioInputPerMillion`: Gemini Flash, OpenAI's audio models; audio read
 * from Gemini's cache at `cachedAudioInputPerMillion`). A missing price is
 * the input price (the 5-minute write price for 1-hour writes, the cached
 * price for cached audio).
 * Long prompts may have prices of their own (`longContext`).
 */
export class Pricing extends Schema.Class<Pricing>("Pricing")({
  ...prices,
  longContext: Schema.optional(LongContextPricing)
}) {}

/**
 * The provider's limits for this model: requests and tokens per minute, and
 * optionally its calls in flight at most (`concurrency`, enforced by the
 * adapters' HTTP layer: more calls wait for a slot). `cacheReadsCount`
 * (default true): whether prompt tokens read from the provider's cache count
 * toward `tpm`; false where they do not (Anthropic's input limit, for most
 * of its models).
 */
export class RateLimits extends Schema.Class<RateLimits>("RateLimits")({
  rpm: PositiveInt,
  tpm: PositiveInt,
  concurrency: Schema.optional(PositiveInt),
  cacheReadsCount: Schema.optional(Schema.Boolean)
}) {}

/** Coarse quality class, used for display and as a tie breaker. */
export const QualityTier = Schema.Literal("frontier", "standard", "economy", "local")
export type QualityTier = typeof QualityTier.Type

/** Everything the gateway knows about one model. */
export class ModelMetadata extends Schema.Class<ModelMetadata>("ModelMetadata")({
  id: ModelId,
  provider: ProviderId,
  providerModel: Schema.NonEmptyTrimmedString,
  displayName: Schema.NonEmptyTrimmedString,
  capabilities: Schema.Array(Capability),
  contextWindow: PositiveInt,
  maxOutputTokens: PositiveInt,
  pricing: Pricing,
  rateLimits: RateLimits,
  qualityTier: QualityTier,
  qualityScore: Schema.Number.pipe(Schema.between(0, 1)),
  enabled: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  fallbacks: Schema.optionalWith(Schema.Array(ModelId), { default: () => [] }),
  tags: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  reasoningEfforts: Schema.optional(ReasoningEfforts),
  refusedParameters: Schema.optional(Schema.Array(RefusedParameter))
}) {}

/** The file `config/models.json`: a source note and the list of models. */
export const ModelsFile = Schema.Struct({
  $schema: Schema.optional(Schema.String),
  source: Schema.optional(Schema.String),
  models: Schema.Array(ModelMetadata)
})
export type ModelsFile = typeof ModelsFile.Type

/** A partial update of a model: every field but `id` optional. */
export const ModelPatch = Schema.Struct({
  provider: Schema.optional(ProviderId),
  providerModel: Schema.optional(Schema.NonEmptyTrimmedString),
  displayName: Schema.optional(Schema.NonEmptyTrimmedString),
  capabilities: Schema.optional(Schema.Array(Capability)),
  contextWindow: Schema.optional(PositiveInt),
  maxOutputTokens: Schema.optional(PositiveInt),
  pricing: Schema.optional(Pricing),
  rateLimits: Schema.optional(RateLimits),
  qualityTier: Schema.optional(QualityTier),
  qualityScore: Schema.optional(Schema.Number.pipe(Schema.between(0, 1))),
  enabled: Schema.optional(Schema.Boolean),
  fallbacks: Schema.optional(Schema.Array(ModelId)),
  tags: Schema.optional(Schema.Array(Schema.String)),
  reasoningEfforts: Schema.optional(ReasoningEfforts),
  refusedParameters: Schema.optional(Schema.Array(RefusedParameter))
})
export type ModelPatch = typeof ModelPatch.Type
