/**
 * A fast path for decoding the common chat request (text messages, assistant
 * tool calls, the usual scalar options): it returns exactly what
 * `Schema.decodeUnknownEither(ChatRequest)` returns for the shapes it knows
 * (same values, same key order, excess keys dropped), or `undefined` for
 * anything else, valid or not; the full Schema decode then runs and words the
 * error. Plain checks instead of the Schema interpreter: ~1 us instead of
 * ~5-10 us per request in the server. A property test holds it to the Schema.
 */
import type { ChatRequest } from "@modelgate/domain/Chat"

type Json = Record<string, unknown>

/** Marks a value the fast path does not take. */
const NO: unique symbol = Symbol("no")
type Decode = (u: unknown) => unknown

const hasOwn = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key)
const isRecord = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

const string: Decode = (u) => (typeof u === "string" ? u : NO)
const boolean: Decode = (u) => (typeof u === "boolean" ? u : NO)
const isFalse: Decode = (u) => (u === false ? u : NO)
const int: Decode = (u) => (Number.isSafeInteger(u) ? u : NO)
const positiveInt: Decode = (u) => (Number.isSafeInteger(u) && (u as number) > 0 ? u : NO)
const between = (min: number, max: number): Decode => (u) => (typeof u === "number" && u >= min && u <= max ? u : NO)
const nullOr = (decode: Decode): Decode => (u) => (u === null ? null : decode(u))
const never: Decode = () => NO

/** Copy the known `fields` of `input` in their order; `undefined` when a field fails or `input` has another key. */
const struct = (input: Json, fields: ReadonlyArray<readonly [string, Decode]>, allowed: ReadonlySet<string>, required: ReadonlyArray<string>): Json | undefined => {
  for (const key in input) if (!allowed.has(key)) return undefined
  for (const key of required) if (!hasOwn(input, key)) return undefined
  const out: Json = {}
  for (const [name, decode] of fields) {
    if (!hasOwn(input, name)) continue
    const value = decode(input[name])
    if (value === NO) return undefined
    out[name] = value
  }
  return out
}

const structOf = (fields: ReadonlyArray<readonly [string, Decode]>, required: ReadonlyArray<string>, extra: ReadonlyArray<string> = []): Decode => {
  const allowed = new Set([...fields.map(([name]) => name), ...extra])
  return (u) => (isRecord(u) ? (struct(u, fields, allowed, required) ?? NO) : NO)
}

const arrayOf = (decode: Decode, nonEmpty = false): Decode => (u) => {
  if (!Array.isArray(u) || (nonEmpty && u.length === 0)) return NO
  const out: Array<unknown> = new Array(u.length)
  for (let i = 0; i < u.length; i++) {
    const value = decode(u[i])
    if (value === NO) return NO
    out[i] = value
  }
  return out
}

const literal = (...values: ReadonlyArray<string>): Decode => (u) => (typeof u === "string" && values.includes(u) ? u : NO)

const toolCall = structOf([
  ["id", string],
  ["type", literal("function")],
  ["function", structOf([["name", string], ["arguments", string]], ["name", "arguments"])]
], ["id", "type", "function"])

// Each message kind as its Schema orders its fields; content parts (arrays) are left to the Schema.
const byRole: Record<string, Decode> = {
  system: structOf([["role", string], ["content", string], ["name", string]], ["role", "content"]),
  user: structOf([["role", string], ["content", string], ["name", string]], ["role", "content"]),
  assistant: structOf([
    ["role", string],
    ["content", nullOr(string)],
    ["tool_calls", arrayOf(toolCall)],
    ["refusal", nullOr(string)],
    ["name", string]
  ], ["role"]),
  tool: structOf([["role", string], ["content", string], ["tool_call_id", string]], ["role", "content", "tool_call_id"])
}
byRole["developer"] = byRole["system"]!

const message: Decode = (u) => {
  if (!isRecord(u) || typeof u["role"] !== "string" || !hasOwn(byRole, u["role"])) return NO
  return byRole[u["role"]]!(u)
}

const model: Decode = (u) => (typeof u === "string" && u.length > 0 && u === u.trim() ? u : NO)

const stop: Decode = (u) => (u === null || typeof u === "string" ? u : arrayOf(string)(u))

/** `ChatRequest`'s fields in its order; the ones left to the Schema never pass here. */
const request = structOf([
  ["model", model],
  ["messages", arrayOf(message, true)],
  ["tools", never],
  ["tool_choice", never],
  ["parallel_tool_calls", boolean],
  ["temperature", nullOr(between(0, 2))],
  ["top_p", nullOr(between(0, 1))],
  ["max_tokens", nullOr(positiveInt)],
  ["max_completion_tokens", nullOr(positiveInt)],
  ["stop", stop],
  ["response_format", never],
  ["stream", nullOr(boolean)],
  ["stream_options", nullOr(structOf([["include_usage", boolean]], []))],
  ["user", string],
  ["seed", nullOr(int)],
  ["n", nullOr(positiveInt)],
  ["frequency_penalty", nullOr(between(-2, 2))],
  ["presence_penalty", nullOr(between(-2, 2))],
  ["logprobs", nullOr(isFalse)],
  ["top_logprobs", nullOr(int)],
  ["logit_bias", never],
  ["reasoning_effort", nullOr(string)],
  ["metadata", never]
], ["model", "messages"], ["modelgate"])

/**
 * `body` decoded as a `ChatRequest` when it has a common shape, exactly as the
 * Schema would; `undefined` otherwise (decode it with the Schema).
 */
export const decodeCommon = (body: Json): ChatRequest | undefined => {
  const out = request(body)
  // Checked field by field above against ChatRequest's Schema (see the property test).
  return out === NO ? undefined : (out as ChatRequest)
}
