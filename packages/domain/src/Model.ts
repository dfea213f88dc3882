/**
 * Model metadata: what the registry knows of every model.
 */
import { Schema } from "effect"
import { ModelId, ProviderId } from "./Ids.js"

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

/** Prices in USD per 1M tokens. */
export class Pricing extends Schema.Class<Pricing>("Pricing")({
  inputPerMillion: NonNegative,
  outputPerMillion: NonNegative,
  cachedInputPerMillion: Schema.optional(NonNegative)
}) {}

/** The provider's limits for this model: requests and tokens per minute. */
export class RateLimits extends Schema.Class<RateLimits>("RateLimits")({
  rpm: PositiveInt,
  tpm: PositiveInt,
  concurrency: Schema.optional(PositiveInt)
}) {}

/** Coarse quality class, used for display and as a tie breaker. */
export const QualityTier = Schema.Literal("frontier", "standard", "economy", "local")
export type QualityTier = typeof QualityTier.Type

/** A provider's own value for one reasoning effort: a name, a token budget, or thinking on/off. */
export const ReasoningEffortValue = Schema.Union(Schema.String, Schema.Int, Schema.Boolean)
export type ReasoningEffortValue = typeof ReasoningEffortValue.Type

/**
 * How a model takes a request's `reasoning_effort`: each effort it accepts
 * (OpenAI's names: "low", "medium", "high", ...) and the provider's own value
 * for it (OpenAI: the effort; Anthropic: `output_config.effort`; Gemini: a
 * `thinkingLevel` name or a `thinkingBudget` in tokens; Ollama: `think`).
 * An effort missing here is one the model cannot serve.
 */
export const ReasoningEfforts = Schema.Record({ key: Schema.String, value: ReasoningEffortValue })
export type ReasoningEfforts = typeof ReasoningEfforts.Type

/** The values a provider takes in `reasoningEfforts`, and what they are called in a problem's reason. */
export interface EffortValueKind {
  /** For instance "an output_config.effort name". */
  readonly what: string
  readonly accepts: (value: ReasoningEffortValue) => boolean
}

const isName = (value: ReasoningEffortValue) => typeof value === "string" && value !== ""

/** What each known provider takes as an effort's value (see `effortValueKindOf`). */
export const effortValueKinds = {
  openai: { what: "a reasoning_effort name", accepts: isName },
  anthropic: { what: "an output_config.effort name", accepts: isName },
  google: {
    what: "a thinkingLevel name or a thinkingBudget of -1 (dynamic) or more tokens",
    accepts: (value) => isName(value) || (typeof value === "number" && value >= -1)
  },
  ollama: { what: "a think level name or true/false", accepts: (value) => isName(value) || typeof value === "boolean" }
} as const satisfies Readonly<Record<string, EffortValueKind>>

/** What `provider` takes as an effort's value, or undefined for a provider modelgate does not know (it takes every value). */
export const effortValueKindOf = (provider: string): EffortValueKind | undefined =>
  Object.hasOwn(effortValueKinds, provider) ? effortValueKinds[provider as keyof typeof effortValueKinds] : undefined

/**
 * The first entry of a model's `reasoningEfforts` its provider cannot take
 * (a Gemini budget for Anthropic, say): the effort and why, or undefined.
 */
export const effortMappingProblem = (
  model: { readonly provider: string; readonly reasoningEfforts?: ReasoningEfforts | undefined }
): { readonly effort: string; readonly reason: string } | undefined => {
  const kind = effortValueKindOf(model.provider)
  if (kind === undefined || model.reasoningEfforts === undefined) return undefined
  for (const [effort, value] of Object.entries(model.reasoningEfforts)) {
    if (!kind.accepts(value)) return { effort, reason: `${model.provider} takes ${kind.what} (${JSON.stringify(value)} given)` }
  }
  return undefined
}

/**
 * Sampling hints: request fields that change no answer's shape. A model that
 * refuses one (see `RefusedParameter`) gets the request without it, as a
 * provider without the field would.
 */
export const SamplingHint = Schema.Literal("temperature", "top_p", "presence_penalty", "frequency_penalty", "seed")
export type SamplingHint = typeof SamplingHint.Type

/**
 * A request field a model's API answers with a 400 (OpenAI's o-series refuse
 * `temperature`, `top_p`, the penalties and `stop`). A sampling hint is left
 * out of requests to the model; a request with any other is never sent to it.
 */
export const RefusedParameter = Schema.Literal(...SamplingHint.literals, "stop", "logit_bias", "n", "parallel_tool_calls")
export type RefusedParameter = typeof RefusedParameter.Type

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
