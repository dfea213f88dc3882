/**
 * The everyday Ollama `/api/chat` answer objects (the whole answer, or one
 * NDJSON line) recognised in plain JS, beside the wire Schema (`WireChatLine`
 * in wire.ts) that stays the reference: a value recognised here is one the
 * Schema accepts, read exactly as the Schema decodes it (unknown keys such as
 * the durations dropped, keys in the Schema's order, optional keys only when
 * present). Anything else (`{"error": ...}` lines, odd shapes, wrong types,
 * nulls) goes through the Schema, which keeps its errors. Chosen for speed:
 * these checks are several times faster than the Schema decode (numbers in
 * the commit that added this file).
 *
 * The inputs are `JSON.parse` results: an absent key and an `undefined` value
 * are the same here (JSON has no `undefined`).
 */
import { arrayOf, isCount, isObject, type Mutable } from "../internal/plainJson.js"
import type { WireChatLine, WireToolCall } from "./wire.js"

type WireMessage = NonNullable<WireChatLine["message"]>

const isOptString = (u: unknown): u is string | undefined => u === undefined || typeof u === "string"
const isOptCount = (u: unknown): u is number | undefined => u === undefined || isCount(u)

/** A tool call (`arguments` is any JSON: the Schema keeps it as it is). */
const toolCall = (u: unknown): WireToolCall | undefined => {
  if (!isObject(u)) return undefined
  const { function: fn, id } = u
  if (!isOptString(id) || !isObject(fn)) return undefined
  const { arguments: args, index, name } = fn
  if (!isOptCount(index) || typeof name !== "string") return undefined
  const f: Mutable<WireToolCall["function"]> = index !== undefined ? { index, name } : { name }
  if (args !== undefined) f.arguments = args
  return id !== undefined ? { id, function: f } : { function: f }
}

const message = (u: unknown): WireMessage | undefined => {
  if (!isObject(u)) return undefined
  const { content, role, thinking, tool_calls: calls } = u
  if (!isOptString(role) || !isOptString(content) || !isOptString(thinking)) return undefined
  const out: Mutable<WireMessage> = {}
  if (role !== undefined) out.role = role
  if (content !== undefined) out.content = content
  if (thinking !== undefined) out.thinking = thinking
  if (calls === null) out.tool_calls = null
  else if (calls !== undefined) {
    const decoded = arrayOf(calls, toolCall)
    if (decoded === undefined) return undefined
    out.tool_calls = decoded
  }
  return out
}

/**
 * The everyday answer object (text, thinking or tool calls, `done`,
 * `done_reason`, the two counts) as `WireChatLine` decodes it, or `undefined`
 * for anything else (an `error` line included): the caller then decodes with
 * the Schema.
 */
export const plainChatLine = (u: unknown): WireChatLine | undefined => {
  if (!isObject(u) || u.error !== undefined) return undefined
  const { created_at, done, done_reason, eval_count, model, prompt_eval_count } = u
  if (
    !isOptString(model) || !isOptString(created_at) || (done !== undefined && typeof done !== "boolean") ||
    !isOptString(done_reason) || !isOptCount(prompt_eval_count) || !isOptCount(eval_count)
  ) return undefined
  const out: Mutable<WireChatLine> = {}
  if (model !== undefined) out.model = model
  if (created_at !== undefined) out.created_at = created_at
  if (u.message !== undefined) {
    const m = message(u.message)
    if (m === undefined) return undefined
    out.message = m
  }
  if (done !== undefined) out.done = done
  if (done_reason !== undefined) out.done_reason = done_reason
  if (prompt_eval_count !== undefined) out.prompt_eval_count = prompt_eval_count
  if (eval_count !== undefined) out.eval_count = eval_count
  return out
}
