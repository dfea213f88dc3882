/**
 * Gemini `GenerateContentResponse` -> ChatResponse (OpenAI shape).
 */
import type { ChatResponse, Choice, FinishReason, ToolCall, Usage } from "@modelgate/domain/Chat"
import { ContentFiltered, MalformedResponse, type ProviderError } from "@modelgate/domain/ProviderError"
import { Either, Schema } from "effect"
import type { CommonFields } from "../internal/errors.js"
import { estimateTokens } from "../internal/usage.js"
import { signedId } from "./ThoughtSignatures.js"

const Count = Schema.NonNegativeInt

/** One part of a candidate's content. */
export const GeminiPartIn = Schema.Struct({
  text: Schema.optional(Schema.String),
  thought: Schema.optional(Schema.Boolean),
  functionCall: Schema.optional(Schema.Struct({
    name: Schema.String,
    args: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
    id: Schema.optional(Schema.String)
  })),
  thoughtSignature: Schema.optional(Schema.String)
})
export type GeminiPartIn = typeof GeminiPartIn.Type

/** One candidate answer. */
export const Candidate = Schema.Struct({
  content: Schema.optional(Schema.Struct({
    role: Schema.optional(Schema.String),
    parts: Schema.optional(Schema.Array(GeminiPartIn))
  })),
  finishReason: Schema.optional(Schema.String),
  index: Schema.optional(Count)
})
export type Candidate = typeof Candidate.Type

/** The tokens of one modality (`TEXT`, `AUDIO`, `IMAGE`, `VIDEO`, `DOCUMENT`) of a count. */
export const ModalityTokenCount = Schema.Struct({
  modality: Schema.optional(Schema.String),
  tokenCount: Schema.optional(Count)
})
export type ModalityTokenCount = typeof ModalityTokenCount.Type

/**
 * `usageMetadata`: running totals on stream chunks; the prompt's by modality
 * in `promptTokensDetails`, its cached part's in `cacheTokensDetails`.
 */
export const UsageMetadata = Schema.Struct({
  promptTokenCount: Schema.optional(Count),
  cachedContentTokenCount: Schema.optional(Count),
  candidatesTokenCount: Schema.optional(Count),
  toolUsePromptTokenCount: Schema.optional(Count),
  thoughtsTokenCount: Schema.optional(Count),
  totalTokenCount: Schema.optional(Count),
  promptTokensDetails: Schema.optional(Schema.Array(ModalityTokenCount)),
  cacheTokensDetails: Schema.optional(Schema.Array(ModalityTokenCount))
})
export type UsageMetadata = typeof UsageMetadata.Type

/** A `GenerateContentResponse` (also each streamed chunk). */
export const GeminiResponse = Schema.Struct({
  candidates: Schema.optional(Schema.Array(Candidate)),
  promptFeedback: Schema.optional(Schema.Struct({ blockReason: Schema.optional(Schema.String) })),
  usageMetadata: Schema.optional(UsageMetadata),
  modelVersion: Schema.optional(Schema.String),
  responseId: Schema.optional(Schema.String)
})
export type GeminiResponse = typeof GeminiResponse.Type

const filtered = new Set([
  "SAFETY",
  "RECITATION",
  "BLOCKLIST",
  "PROHIBITED_CONTENT",
  "SPII",
  "IMAGE_SAFETY",
  "IMAGE_PROHIBITED_CONTENT",
  "IMAGE_RECITATION"
])
const toolFailures = new Set(["MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS"])

/**
 * Gemini `finishReason` -> OpenAI `finish_reason`: `tool_calls` whenever the
 * answer holds function calls; undefined for a reason with no OpenAI
 * equivalent (tool-call failures, unknown values).
 */
export const finishReasonOf = (reason: string, hasToolCalls: boolean): FinishReason | undefined => {
  if (filtered.has(reason)) return "content_filter"
  if (toolFailures.has(reason)) return undefined
  if (hasToolCalls) return "tool_calls"
  switch (reason) {
    case "STOP":
    case "OTHER":
    case "LANGUAGE":
      return "stop"
    case "MAX_TOKENS":
    case "CONTINUATION":
      return "length"
    default:
      return undefined
  }
}

/**
 * A finish reason as it may be quoted in an error: Gemini's reasons are upper
 * case words (`MALFORMED_FUNCTION_CALL`); any other value is the provider's
 * text of unknown content, and is not repeated to clients, events or records.
 */
export const shownReason = (reason: string | undefined): string =>
  reason === undefined ? "(none)" : /^[A-Z][A-Z0-9_]{0,63}$/.test(reason) ? reason : "(unrecognised value)"

/** The audio tokens of a modality breakdown (its `AUDIO` count; Gemini bills audio input, and audio read from its cache, at their own prices). */
const audioTokensOf = (details: ReadonlyArray<ModalityTokenCount> | undefined): number => {
  let audio = 0
  for (const detail of details ?? []) if (detail.modality === "AUDIO") audio += detail.tokenCount ?? 0
  return audio
}

/**
 * `usageMetadata` -> OpenAI usage: prompt includes tool-use prompt tokens,
 * completion includes thoughts, `audio_tokens` the prompt's audio and
 * `cached_audio_tokens` the audio of its cached part (when any); without
 * metadata the counts are estimates.
 */
export const usageOf = (usage: UsageMetadata | undefined, estimate: () => { readonly prompt: number; readonly completion: number }): Usage => {
  if (usage === undefined) {
    const { completion, prompt } = estimate()
    return {
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
      estimated: true
    }
  }
  const prompt = (usage.promptTokenCount ?? 0) + (usage.toolUsePromptTokenCount ?? 0)
  const thoughts = usage.thoughtsTokenCount ?? 0
  const completion = (usage.candidatesTokenCount ?? 0) + thoughts
  const audio = audioTokensOf(usage.promptTokensDetails)
  const cachedAudio = audioTokensOf(usage.cacheTokensDetails)
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: Math.max(usage.totalTokenCount ?? 0, prompt + completion),
    prompt_tokens_details: {
      cached_tokens: usage.cachedContentTokenCount ?? 0,
      ...(audio > 0 ? { audio_tokens: audio } : {}),
      ...(cachedAudio > 0 ? { cached_audio_tokens: cachedAudio } : {})
    },
    ...(usage.thoughtsTokenCount !== undefined ? { completion_tokens_details: { reasoning_tokens: thoughts } } : {})
  }
}

/** The visible text of parts (thought summaries left out). */
export const textOfParts = (parts: ReadonlyArray<GeminiPartIn>): string =>
  parts.filter((p) => p.text !== undefined && p.thought !== true).map((p) => p.text).join("")

/**
 * OpenAI tool calls for the function-call parts; ids synthesised from
 * `idBase` where Gemini gives none. A part `model` signed gets an id that
 * carries its signature (ThoughtSignatures.ts): the client sends it back
 * with the call.
 */
export const toolCallsOf = (parts: ReadonlyArray<GeminiPartIn>, idBase: string, model: string, offset = 0): Array<ToolCall> => {
  const calls: Array<ToolCall> = []
  for (const part of parts) {
    const call = part.functionCall
    if (call === undefined) continue
    const id = call.id ?? `call_${idBase}_${offset + calls.length}`
    calls.push({
      id: part.thoughtSignature === undefined || part.thoughtSignature === "" ? id : signedId(id, model, part.thoughtSignature),
      type: "function",
      function: { name: call.name, arguments: JSON.stringify(call.args ?? {}) }
    })
  }
  return calls
}

/**
 * The fields of an error about a 200 answer: with the usage it reported
 * (billed by Google, which charges all but 400 and 500 answers), when it
 * reported one.
 */
export const billedFields = <F extends Omit<CommonFields, "detail">>(fields: F, usage: UsageMetadata | undefined): F | (F & { readonly usage: Usage }) =>
  usage === undefined ? fields : { ...fields, usage: usageOf(usage, () => ({ prompt: 0, completion: 0 })) }

/**
 * Normalise an answer. A blocked prompt (`promptFeedback.blockReason`, no
 * candidates) is ContentFiltered; a safety stop, with or without content, a
 * choice whose `finish_reason` is `content_filter`; a missing,
 * unknown or tool-failure finish reason is MalformedResponse; both carry the
 * usage the answer reported (`billedFields`).
 */
export const fromGeminiResponse = (
  response: GeminiResponse,
  options: {
    readonly nowMs: number
    /** The model asked (reported when Gemini sends no `modelVersion`; its signatures go in the tool-call ids, ThoughtSignatures.ts). */
    readonly model: string
    /** The prompt's estimated tokens, asked for only when Gemini sent no usage. */
    readonly promptTokensEstimate: () => number
    readonly fields: Omit<CommonFields, "detail">
  }
): Either.Either<ChatResponse, ProviderError> => {
  // A 200 answer that cannot be used is still billed: its errors carry the usage it reported.
  const fields = billedFields(options.fields, response.usageMetadata)
  const candidates = response.candidates ?? []
  const block = response.promptFeedback?.blockReason
  if (candidates.length === 0) {
    return Either.left(
      block !== undefined
        ? new ContentFiltered({ ...fields, detail: `prompt blocked: ${block}` })
        : new MalformedResponse({ ...fields, detail: "the answer has no candidates" })
    )
  }
  const idBase = response.responseId ?? options.nowMs.toString(36)
  // An answer the safety filter stopped, before any text or not, is a `content_filter` choice (a 200, as OpenAI's).
  const choices: Array<Choice> = []
  let completionText = ""
  for (const [i, candidate] of candidates.entries()) {
    const parts = candidate.content?.parts ?? []
    const text = textOfParts(parts)
    const toolCalls = toolCallsOf(parts, `${idBase}_${i}`, options.model)
    const reason = candidate.finishReason
    const finish = reason === undefined ? undefined : finishReasonOf(reason, toolCalls.length > 0)
    if (finish === undefined) {
      return Either.left(new MalformedResponse({ ...fields, detail: `unusable finishReason ${shownReason(reason)}` }))
    }
    completionText += text
    choices.push({
      index: candidate.index ?? i,
      message: {
        role: "assistant",
        content: text === "" && toolCalls.length > 0 ? null : text,
        ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        refusal: null
      },
      logprobs: null,
      finish_reason: finish
    })
  }
  return Either.right({
    id: response.responseId ?? `gemini-${idBase}`,
    object: "chat.completion",
    created: Math.floor(options.nowMs / 1000),
    model: response.modelVersion ?? options.model,
    choices: choices as [Choice, ...Array<Choice>],
    usage: usageOf(response.usageMetadata, () => ({
      prompt: options.promptTokensEstimate(),
      completion: estimateTokens(completionText)
    }))
  })
}
