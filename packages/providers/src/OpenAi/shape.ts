/**
 * The everyday OpenAI answers recognised in plain JS, beside the wire
 * Schemas (wire.ts) that stay the reference: a value recognised here is one
 * the Schema accepts, read exactly as the Schema decodes it. Anything else
 * (odd shapes, wrong types, not JSON) goes through the Schema, which also
 * words the errors. Chosen for speed: a Schema decode of a complete response
 * showed ~25 us self time per request in the serve profile (5-8 us warm in
 * isolation), of a stream chunk ~7 us; these checks ~0.3-1.3 us.
 *
 * The inputs are `JSON.parse` results: an absent key and an `undefined` value
 * are the same here (JSON has no `undefined`).
 */
import { arrayOf, isCount, isObject, type Mutable } from "../internal/plainJson.js"
import type { WireResponse, WireUsage } from "./wire.js"

/** Absent, null or a string (the wire's `OptString`). */
export const isOptString = (u: unknown): u is string | null | undefined =>
  u === undefined || u === null || typeof u === "string"

const isOptCount = (u: unknown): boolean => u === undefined || u === null || isCount(u)

/** Absent, null, or an object whose known keys `keys` are each absent, null or a count. */
const isDetails = (u: unknown, ...keys: ReadonlyArray<string>): boolean =>
  u === undefined || u === null || (isObject(u) && keys.every((key) => isOptCount(u[key])))

/** The counts of `completion_tokens_details` that `WireUsage` reads. */
const completionDetailKeys = ["reasoning_tokens", "accepted_prediction_tokens", "rejected_prediction_tokens"] as const

/** A `usage` object `WireUsage` accepts (token counts, optional details). */
export const isWireUsage = (u: unknown): u is WireUsage =>
  isObject(u) && isCount(u.prompt_tokens) && isCount(u.completion_tokens) &&
  (u.total_tokens === undefined || isCount(u.total_tokens)) &&
  isDetails(u.prompt_tokens_details, "cached_tokens", "audio_tokens") && isDetails(u.completion_tokens_details, ...completionDetailKeys)

/** A usage `isWireUsage` accepted, as the Schema decodes it (unknown keys dropped). */
export const wireUsage = (u: WireUsage): WireUsage => {
  const out: Mutable<WireUsage> = { prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens }
  if (u.total_tokens !== undefined) out.total_tokens = u.total_tokens
  const prompt = u.prompt_tokens_details
  if (prompt !== undefined) {
    out.prompt_tokens_details = prompt === null
      ? null
      : {
        ...(prompt.cached_tokens !== undefined ? { cached_tokens: prompt.cached_tokens } : {}),
        ...(prompt.audio_tokens !== undefined ? { audio_tokens: prompt.audio_tokens } : {})
      }
  }
  const completion = u.completion_tokens_details
  if (completion !== undefined) {
    if (completion === null) out.completion_tokens_details = null
    else {
      const kept: Mutable<NonNullable<WireUsage["completion_tokens_details"]>> = {}
      for (const key of completionDetailKeys) if (completion[key] !== undefined) kept[key] = completion[key]
      out.completion_tokens_details = kept
    }
  }
  return out
}

type WireChoice = WireResponse["choices"][number]
type WireMessage = WireChoice["message"]
type WireToolCall = NonNullable<WireMessage["tool_calls"]>[number]

const toolCall = (u: unknown): WireToolCall | undefined => {
  if (!isObject(u) || typeof u.id !== "string" || (u.type !== undefined && typeof u.type !== "string")) return undefined
  const fn = u.function
  if (!isObject(fn) || typeof fn.name !== "string" || typeof fn.arguments !== "string") return undefined
  const f = { name: fn.name, arguments: fn.arguments }
  return u.type !== undefined ? { id: u.id, type: u.type, function: f } : { id: u.id, function: f }
}

const message = (u: unknown): WireMessage | undefined => {
  if (!isObject(u)) return undefined
  const { content, refusal, role } = u
  if ((role !== undefined && typeof role !== "string") || !isOptString(content) || !isOptString(refusal)) return undefined
  const out: Mutable<WireMessage> = {}
  if (role !== undefined) out.role = role
  if (content !== undefined) out.content = content
  const calls = u.tool_calls
  if (calls === null) out.tool_calls = null
  else if (calls !== undefined) {
    const decoded = arrayOf(calls, toolCall)
    if (decoded === undefined) return undefined
    out.tool_calls = decoded
  }
  if (refusal !== undefined) out.refusal = refusal
  // OpenAI's everyday `annotations: []` (or null) is read here; citations are left to the Schema.
  const annotations = u.annotations
  if (annotations === null) out.annotations = null
  else if (Array.isArray(annotations) && annotations.length === 0) out.annotations = []
  else if (annotations !== undefined) return undefined
  return out
}

const choice = (u: unknown): WireChoice | undefined => {
  if (!isObject(u)) return undefined
  const { finish_reason, index } = u
  if ((index !== undefined && !isCount(index)) || (finish_reason !== null && typeof finish_reason !== "string")) return undefined
  const m = message(u.message)
  if (m === undefined) return undefined
  return index !== undefined ? { index, message: m, finish_reason } : { message: m, finish_reason }
}

/**
 * The everyday `chat.completion` (text or tool-call messages, a finish
 * reason, usage with or without details) as `WireResponse` decodes it, or
 * `undefined` for anything else: the caller then decodes with the Schema.
 */
export const plainResponse = (u: unknown): WireResponse | undefined => {
  if (!isObject(u)) return undefined
  const { created, id, model, system_fingerprint, usage } = u
  if ((id !== undefined && typeof id !== "string") || (created !== undefined && !isCount(created)) || typeof model !== "string" || !isOptString(system_fingerprint)) {
    return undefined
  }
  if (usage !== undefined && usage !== null && !isWireUsage(usage)) return undefined
  const choices = arrayOf(u.choices, choice)
  if (choices === undefined) return undefined
  // In the Schema's key order; `id` and `created` are absent from some OpenAI-compatible servers.
  const out: Mutable<WireResponse> = id !== undefined && created !== undefined
    ? { id, created, model, choices }
    : { ...(id !== undefined ? { id } : {}), ...(created !== undefined ? { created } : {}), model, choices }
  if (usage !== undefined) out.usage = usage === null ? null : wireUsage(usage)
  if (system_fingerprint !== undefined) out.system_fingerprint = system_fingerprint
  return out
}
