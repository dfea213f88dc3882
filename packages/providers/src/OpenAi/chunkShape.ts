/**
 * The everyday OpenAI stream chunk (text deltas, a finish reason, usage with
 * or without details, as OpenAI's `include_usage` chunk has them) read in
 * plain JS straight into the `ChatChunk` it normalises to: what `plainChunk`
 * gives is exactly `normaliseChunk` of the `WireChunk` Schema's decode of the
 * same data (held to it by a property test). Anything else (tool calls,
 * errors, an unknown finish reason, malformed values) is `undefined`: the
 * caller then decodes with the Schema and normalises, which also words the
 * errors.
 *
 * Chosen for speed: the Schema decode was ~7 us per event; checking the JSON
 * value and then normalising it (spreads of optional fields) ~1 us; this one
 * pass, building the chunk as it checks, less again.
 */
import type { ChatChunk, ChunkChoice, FinishReason } from "@modelgate/domain/Chat"
import { isCount, isObject, type Mutable } from "../internal/plainJson.js"
import { isOptString, isWireUsage } from "./shape.js"
import { type ChunkIdentity, finishReasons, toUsage } from "./wire.js"

type Delta = Mutable<ChunkChoice["delta"]>

const plainChoice = (u: unknown): ChunkChoice | undefined => {
  if (!isObject(u)) return undefined
  const { delta, finish_reason, index } = u
  if (!isCount(index)) return undefined
  let reason: FinishReason | null = null
  if (finish_reason !== undefined && finish_reason !== null) {
    // An unknown reason is left to the Schema path, which words the error.
    if (typeof finish_reason !== "string" || !finishReasons.has(finish_reason)) return undefined
    reason = finish_reason as FinishReason
  }
  const out: Delta = {}
  if (delta !== undefined && delta !== null) {
    if (!isObject(delta)) return undefined
    const { annotations, content, refusal, role, tool_calls } = delta
    if (!isOptString(role) || !isOptString(content) || !isOptString(refusal)) return undefined
    if (tool_calls !== undefined && tool_calls !== null) return undefined
    // No annotations, or OpenAI's empty list (dropped as `normaliseChunk` drops it); citations are left to the Schema.
    if (annotations !== undefined && annotations !== null && !(Array.isArray(annotations) && annotations.length === 0)) return undefined
    // In `normaliseChunk`'s key order: role, content, (tool_calls), refusal.
    if (role === "assistant") out.role = "assistant"
    if (content !== undefined) out.content = content
    if (refusal !== undefined) out.refusal = refusal
  }
  return { index, delta: out, logprobs: null, finish_reason: reason }
}

/**
 * The everyday chunk as the `ChatChunk` `normaliseChunk(decoded, identity)`
 * gives (missing id, created, model taken from `identity`), or `undefined`
 * for anything else (see the module).
 */
export const plainChunk = (u: unknown, identity: ChunkIdentity): ChatChunk | undefined => {
  if (!isObject(u) || u.error !== undefined) return undefined
  const { choices, created, id, model, system_fingerprint, usage } = u
  if (id !== undefined && typeof id !== "string") return undefined
  if (created !== undefined && !isCount(created)) return undefined
  if (model !== undefined && typeof model !== "string") return undefined
  if (!isOptString(system_fingerprint)) return undefined
  const hasUsage = usage !== undefined && usage !== null
  if (hasUsage && !isWireUsage(usage)) return undefined
  const read: Array<ChunkChoice> = []
  if (choices !== undefined) {
    if (!Array.isArray(choices)) return undefined
    for (const choice of choices) {
      const c = plainChoice(choice)
      if (c === undefined) return undefined
      read.push(c)
    }
  }
  const out: Mutable<ChatChunk> = {
    id: id ?? identity.id,
    object: "chat.completion.chunk",
    created: created ?? identity.created,
    model: model ?? identity.model,
    choices: read
  }
  if (hasUsage) out.usage = toUsage(usage)
  if (system_fingerprint !== undefined) out.system_fingerprint = system_fingerprint
  return out
}
