/**
 * The everyday Gemini answers recognised in plain JS, beside the wire Schema
 * (`GeminiResponse` in Response.ts) that stays the reference: a value
 * recognised here is one the Schema accepts, read exactly as the Schema
 * decodes it (unknown keys dropped, keys in the Schema's order, optional keys
 * only when present). Anything else (function calls, odd shapes, wrong types,
 * nulls) goes through the Schema, which keeps its errors. Chosen for speed:
 * the same answer and stream event are read here several times faster than
 * by the Schema (numbers in the commit that added this file).
 *
 * The inputs are `JSON.parse` results: an absent key and an `undefined` value
 * are the same here (JSON has no `undefined`).
 */
import { arrayOf, isCount, isObject, type Mutable } from "../internal/plainJson.js"
import type { Candidate, GeminiPartIn, GeminiResponse, ModalityTokenCount, UsageMetadata } from "./Response.js"

const isOptString = (u: unknown): u is string | undefined => u === undefined || typeof u === "string"
const isOptCount = (u: unknown): u is number | undefined => u === undefined || isCount(u)

/** A text / thought part (no `functionCall`: those go to the Schema). */
const part = (u: unknown): GeminiPartIn | undefined => {
  if (!isObject(u) || u.functionCall !== undefined) return undefined
  const { text, thought, thoughtSignature } = u
  if (!isOptString(text) || (thought !== undefined && typeof thought !== "boolean") || !isOptString(thoughtSignature)) {
    return undefined
  }
  const out: Mutable<GeminiPartIn> = {}
  if (text !== undefined) out.text = text
  if (thought !== undefined) out.thought = thought
  if (thoughtSignature !== undefined) out.thoughtSignature = thoughtSignature
  return out
}

type Content = NonNullable<Candidate["content"]>

const content = (u: unknown): Content | undefined => {
  if (!isObject(u)) return undefined
  const { parts, role } = u
  if (!isOptString(role)) return undefined
  const out: Mutable<Content> = {}
  if (role !== undefined) out.role = role
  if (parts !== undefined) {
    const decoded = arrayOf(parts, part)
    if (decoded === undefined) return undefined
    out.parts = decoded
  }
  return out
}

const candidate = (u: unknown): Candidate | undefined => {
  if (!isObject(u)) return undefined
  const { finishReason, index } = u
  if (!isOptString(finishReason) || !isOptCount(index)) return undefined
  const out: Mutable<Candidate> = {}
  if (u.content !== undefined) {
    const c = content(u.content)
    if (c === undefined) return undefined
    out.content = c
  }
  if (finishReason !== undefined) out.finishReason = finishReason
  if (index !== undefined) out.index = index
  return out
}

/** One `{ modality, tokenCount }` entry as `ModalityTokenCount` decodes it, or `undefined`. */
const modalityCount = (u: unknown): ModalityTokenCount | undefined => {
  if (!isObject(u)) return undefined
  const { modality, tokenCount } = u
  if ((modality !== undefined && typeof modality !== "string") || !isOptCount(tokenCount)) return undefined
  const out: Mutable<ModalityTokenCount> = {}
  if (modality !== undefined) out.modality = modality
  if (tokenCount !== undefined) out.tokenCount = tokenCount
  return out
}

/** The modality breakdowns of `usageMetadata`: the prompt's and its cached part's. */
const modalityKeys = ["promptTokensDetails", "cacheTokensDetails"] as const

/** A `usageMetadata` object `UsageMetadata` accepts, as it decodes it, or `undefined`. */
export const plainUsage = (u: unknown): UsageMetadata | undefined => {
  if (!isObject(u)) return undefined
  const {
    cachedContentTokenCount,
    candidatesTokenCount,
    promptTokenCount,
    thoughtsTokenCount,
    toolUsePromptTokenCount,
    totalTokenCount
  } = u
  if (
    !isOptCount(promptTokenCount) || !isOptCount(cachedContentTokenCount) || !isOptCount(candidatesTokenCount) ||
    !isOptCount(toolUsePromptTokenCount) || !isOptCount(thoughtsTokenCount) || !isOptCount(totalTokenCount)
  ) return undefined
  const out: Mutable<UsageMetadata> = {}
  if (promptTokenCount !== undefined) out.promptTokenCount = promptTokenCount
  if (cachedContentTokenCount !== undefined) out.cachedContentTokenCount = cachedContentTokenCount
  if (candidatesTokenCount !== undefined) out.candidatesTokenCount = candidatesTokenCount
  if (toolUsePromptTokenCount !== undefined) out.toolUsePromptTokenCount = toolUsePromptTokenCount
  if (thoughtsTokenCount !== undefined) out.thoughtsTokenCount = thoughtsTokenCount
  if (totalTokenCount !== undefined) out.totalTokenCount = totalTokenCount
  for (const key of modalityKeys) {
    const details = u[key]
    if (details === undefined) continue
    const decoded = arrayOf(details, modalityCount)
    if (decoded === undefined) return undefined
    out[key] = decoded
  }
  return out
}

/**
 * The everyday `GenerateContentResponse` (a whole answer, or one streamed
 * event): candidates of text and thought parts, finish reasons, a prompt
 * block, usage, model version and response id, as `GeminiResponse` decodes
 * it; `undefined` for anything else (function calls, an `error` body, odd
 * shapes, wrong types): the caller then decodes with the Schema.
 */
export const plainResponse = (u: unknown): GeminiResponse | undefined => {
  // An `error` body (google.rpc.Status) goes to the Schema and the error Schema, as before.
  if (!isObject(u) || u.error !== undefined) return undefined
  const { candidates, modelVersion, promptFeedback, responseId, usageMetadata } = u
  if (!isOptString(modelVersion) || !isOptString(responseId)) return undefined
  const out: Mutable<GeminiResponse> = {}
  if (candidates !== undefined) {
    const decoded = arrayOf(candidates, candidate)
    if (decoded === undefined) return undefined
    out.candidates = decoded
  }
  if (promptFeedback !== undefined) {
    if (!isObject(promptFeedback)) return undefined
    const block = promptFeedback.blockReason
    if (!isOptString(block)) return undefined
    out.promptFeedback = block === undefined ? {} : { blockReason: block }
  }
  if (usageMetadata !== undefined) {
    const usage = plainUsage(usageMetadata)
    if (usage === undefined) return undefined
    out.usageMetadata = usage
  }
  if (modelVersion !== undefined) out.modelVersion = modelVersion
  if (responseId !== undefined) out.responseId = responseId
  return out
}
