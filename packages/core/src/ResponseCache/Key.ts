/**
 * The cache key: SHA-256 (node:crypto) of the canonical JSON of every request
 * parameter that changes the output.
 *
 * Canonical form: object keys sorted, `undefined` members left out, top-level
 * parameters that are `null` or absent treated alike (both mean "provider
 * default"), `stop: "x"` written as `["x"]`, and the model replaced by the
 * model that will answer (the registry id, or the resolved model for `auto`).
 * Left out on purpose: `stream`, `stream_options`, `user`, `metadata`
 * (a streamed request is served from a cached complete answer).
 */
import type { ChatRequest } from "@modelgate/domain/Chat"
import { createHash } from "node:crypto"

/** Bump when the canonical form changes, so old entries stop matching. */
const version = 1

/** The request parameters that take part in the key. */
export const keyedParameters = [
  "messages",
  "tools",
  "tool_choice",
  "parallel_tool_calls",
  "temperature",
  "top_p",
  "max_tokens",
  "max_completion_tokens",
  "stop",
  "response_format",
  "seed",
  "n",
  "frequency_penalty",
  "presence_penalty",
  "logit_bias",
  "logprobs",
  "top_logprobs",
  "reasoning_effort"
] as const satisfies ReadonlyArray<keyof ChatRequest>

/** JSON with object keys sorted and `undefined` members dropped (as JSON.stringify drops them). */
export const canonicalJson = (value: unknown): string => {
  if (value === null || typeof value !== "object") {
    return value === undefined ? "null" : JSON.stringify(value)
  }
  if (Array.isArray(value)) {
    return `[${value.map((item) => (item === undefined ? "null" : canonicalJson(item))).join(",")}]`
  }
  const record = value as Record<string, unknown>
  const members = Object.keys(record)
    .filter((key) => record[key] !== undefined)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`)
  return `{${members.join(",")}}`
}

/** The canonical object of `request` answered by `model`. */
export const canonicalRequest = (request: ChatRequest, model: string): Record<string, unknown> => {
  const canonical: Record<string, unknown> = { v: version, model }
  for (const name of keyedParameters) {
    const value = request[name]
    if (value === undefined || value === null) continue
    canonical[name] = name === "stop" && typeof value === "string" ? [value] : value
  }
  return canonical
}

/** The hex SHA-256 of the canonical request. */
export const cacheKey = (request: ChatRequest, model: string): string =>
  createHash("sha256").update(canonicalJson(canonicalRequest(request, model)), "utf8").digest("hex")
