/**
 * The everyday Anthropic stream events recognised in plain JS, beside the
 * wire Schemas (Stream.ts, Response.ts) that stay the reference: a value
 * recognised here is one the Schema accepts, read exactly as the Schema
 * decodes it (unknown keys dropped, same key order). Anything else (tool use,
 * thinking, errors, odd shapes, wrong types) goes through the Schema, which
 * keeps its errors. Chosen for speed: the Schema decode of one event was
 * ~5-8 us, these checks well under 1 us.
 *
 * The inputs are `JSON.parse` results: an absent key and an `undefined` value
 * are the same here (JSON has no `undefined`).
 */
import { isCount, isObject, type Mutable } from "../internal/plainJson.js"
import type { AnthropicResponse, AnthropicUsage, ContentBlock } from "./Response.js"
import type { AnthropicStreamEvent } from "./Stream.js"

const isOptCount = (u: unknown): u is number | null | undefined => u === undefined || u === null || isCount(u)

/**
 * A `usage` object `AnthropicUsage` accepts, as the Schema decodes it, or
 * `undefined` when it is anything else.
 */
export const plainUsage = (u: unknown): AnthropicUsage | undefined => {
  if (!isObject(u)) return undefined
  const { cache_creation, cache_creation_input_tokens, cache_read_input_tokens, input_tokens, output_tokens, output_tokens_details } = u
  if (
    !isOptCount(input_tokens) || !isOptCount(output_tokens) || !isOptCount(cache_creation_input_tokens) ||
    !isOptCount(cache_read_input_tokens)
  ) return undefined
  const out: Mutable<AnthropicUsage> = {}
  if (input_tokens !== undefined) out.input_tokens = input_tokens
  if (output_tokens !== undefined) out.output_tokens = output_tokens
  if (cache_creation_input_tokens !== undefined) out.cache_creation_input_tokens = cache_creation_input_tokens
  if (cache_read_input_tokens !== undefined) out.cache_read_input_tokens = cache_read_input_tokens
  if (cache_creation === null) out.cache_creation = null
  else if (cache_creation !== undefined) {
    if (!isObject(cache_creation)) return undefined
    const { ephemeral_1h_input_tokens: hour, ephemeral_5m_input_tokens: minutes } = cache_creation
    if (!isOptCount(minutes) || !isOptCount(hour)) return undefined
    out.cache_creation = {
      ...(minutes !== undefined ? { ephemeral_5m_input_tokens: minutes } : {}),
      ...(hour !== undefined ? { ephemeral_1h_input_tokens: hour } : {})
    }
  }
  if (output_tokens_details === null) out.output_tokens_details = null
  else if (output_tokens_details !== undefined) {
    if (!isObject(output_tokens_details)) return undefined
    const thinking = output_tokens_details.thinking_tokens
    if (!isOptCount(thinking)) return undefined
    out.output_tokens_details = thinking === undefined ? {} : { thinking_tokens: thinking }
  }
  return out
}

const messageStart = (u: Record<string, unknown>): AnthropicStreamEvent | undefined => {
  const message = u.message
  if (!isObject(message)) return undefined
  const { id, model, usage } = message
  if (typeof id !== "string" || typeof model !== "string") return undefined
  if (usage === undefined) return { type: "message_start", message: { id, model } }
  const decoded = plainUsage(usage)
  return decoded === undefined ? undefined : { type: "message_start", message: { id, model, usage: decoded } }
}

/** A text block start (`content_block: { type: "text", text? }`); other blocks go to the Schema. */
const blockStart = (u: Record<string, unknown>): AnthropicStreamEvent | undefined => {
  const { content_block: block, index } = u
  if (!isCount(index) || !isObject(block) || block.type !== "text" || block.id !== undefined || block.name !== undefined) {
    return undefined
  }
  const text = block.text
  if (text === undefined) return { type: "content_block_start", index, content_block: { type: "text" } }
  return typeof text === "string" ? { type: "content_block_start", index, content_block: { type: "text", text } } : undefined
}

/** A `text_delta`; other deltas (input_json_delta, thinking, signatures) go to the Schema. */
const blockDelta = (u: Record<string, unknown>): AnthropicStreamEvent | undefined => {
  const { delta, index } = u
  if (!isCount(index) || !isObject(delta) || delta.type !== "text_delta" || delta.partial_json !== undefined) return undefined
  const text = delta.text
  return typeof text === "string" ? { type: "content_block_delta", index, delta: { type: "text_delta", text } } : undefined
}

const messageDelta = (u: Record<string, unknown>): AnthropicStreamEvent | undefined => {
  const { delta, usage } = u
  if (!isObject(delta)) return undefined
  const reason = delta.stop_reason
  if (reason !== undefined && reason !== null && typeof reason !== "string") return undefined
  const decodedDelta = reason === undefined ? {} : { stop_reason: reason }
  if (usage === undefined) return { type: "message_delta", delta: decodedDelta }
  const decoded = plainUsage(usage)
  return decoded === undefined ? undefined : { type: "message_delta", delta: decodedDelta, usage: decoded }
}

/**
 * The everyday event of a streamed Messages answer (message_start, a text
 * block's start / text_delta / stop, message_delta, message_stop, ping) as
 * `AnthropicStreamEvent` decodes it, or `undefined` for anything else: the
 * caller then decodes with the Schema.
 */
export const plainStreamEvent = (u: unknown): AnthropicStreamEvent | undefined => {
  if (!isObject(u)) return undefined
  switch (u.type) {
    case "content_block_delta":
      return blockDelta(u)
    case "content_block_start":
      return blockStart(u)
    case "content_block_stop":
      return { type: "content_block_stop" }
    case "message_delta":
      return messageDelta(u)
    case "message_start":
      return messageStart(u)
    case "message_stop":
      return { type: "message_stop" }
    case "ping":
      return { type: "ping" }
    default:
      return undefined
  }
}

/**
 * The everyday Messages answer (text blocks only, a stop reason, usage) as
 * `AnthropicResponse` decodes it, or `undefined` for anything else (tool use,
 * thinking, odd shapes): the caller then decodes with the Schema.
 */
export const plainResponse = (u: unknown): AnthropicResponse | undefined => {
  if (!isObject(u)) return undefined
  const { content, id, model, role, stop_reason, stop_sequence, type } = u
  if (
    typeof id !== "string" || typeof model !== "string" || role !== "assistant" ||
    (type !== undefined && type !== "message") || (stop_reason !== null && typeof stop_reason !== "string") ||
    (stop_sequence !== undefined && stop_sequence !== null && typeof stop_sequence !== "string") || !Array.isArray(content)
  ) return undefined
  const usage = plainUsage(u.usage)
  if (usage === undefined) return undefined
  const blocks: Array<ContentBlock> = []
  for (const block of content) {
    if (!isObject(block) || block.type !== "text" || typeof block.text !== "string") return undefined
    blocks.push({ type: "text", text: block.text })
  }
  // Keys in the Schema's order, the optional ones only when present (as the Schema decodes them).
  return {
    id,
    ...(type !== undefined ? { type } : {}),
    role,
    model,
    content: blocks,
    stop_reason,
    ...(stop_sequence !== undefined ? { stop_sequence } : {}),
    usage
  }
}
