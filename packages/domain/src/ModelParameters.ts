/**
 * What a model takes of a request's parameters, beside the registry entry's
 * other fields: its own value for each reasoning effort
 * (`reasoningEfforts`), the kinds of value each provider takes there, and
 * the request fields its API refuses (`refusedParameters`).
 */
import { Schema } from "effect"

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
