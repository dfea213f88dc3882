/**
 * How OpenAI answers are classified: rate-limit headers, retry hints, and
 * the error body's `type` / `code` refining the status table.
 *
 * Decisions: `429 insufficient_quota` (credit exhausted) is `Unauthorized`
 * (not retryable; the key's account cannot serve, so the caller moves to
 * another key or provider), never RateLimited. A 400 with code
 * `context_length_exceeded` is `ContextLengthExceeded`, and so is a 4xx whose
 * type or message says the prompt is over the context window in the words
 * of OpenAI-compatible servers (vLLM's "maximum context length", llama.cpp's
 * `exceed_context_size_error`, TGI's 422 "`inputs` tokens + `max_new_tokens`
 * must be <="), so the gateway can fail over to a larger window; vLLM's
 * older flat body (`{"object": "error", "message": ...}`) is read as the
 * error object it is. A 400 with code
 * `content_filter` / `content_policy_violation` is `ContentFiltered`. A 404
 * (`model_not_found`: the registry's `providerModel` does not exist for this
 * account, or a base URL OpenAI does not serve) is the operator's setup, not
 * the client's request (the gateway chose the model and the path): an
 * unreachable `Transport`, as for an Ollama model never pulled, so the
 * request fails over at once, is not retried, and counts against the model's
 * health. So is a 403 `model_not_found` ("Project `proj_x` does not have
 * access to model `m`"): the key still serves the provider's other models,
 * so it is not `Unauthorized` (which sets the key aside for all of them).
 */
import {
  ContentFiltered,
  ContextLengthExceeded,
  Overloaded,
  type ProviderError,
  RateLimited,
  ServerError,
  Unauthorized
} from "@modelgate/domain/ProviderError"
import { RateLimitInfo } from "@modelgate/domain/RateLimitInfo"
import type { Headers } from "@effect/platform"
import { Option, Schema } from "effect"
import {
  badRequest,
  classifyStatus,
  type CommonFields,
  type ErrorContext,
  excerpt,
  fieldsOf,
  genericError,
  notServed,
  header,
  parseCount,
  parseDuration,
  standardRetryAfter
} from "../internal/index.js"
import { type WireError, WireErrorBody, WireFlatErrorBody } from "./wire.js"

/** `x-request-id`. */
export const requestId = (headers: Headers.Headers): string | undefined => header(headers, "x-request-id")

/** The `x-ratelimit-*` headers as `RateLimitInfo` (undefined when none is present). */
export const rateLimitInfo = (headers: Headers.Headers): RateLimitInfo | undefined => {
  const limitRequests = parseCount(header(headers, "x-ratelimit-limit-requests"))
  const limitTokens = parseCount(header(headers, "x-ratelimit-limit-tokens"))
  const remainingRequests = parseCount(header(headers, "x-ratelimit-remaining-requests"))
  const remainingTokens = parseCount(header(headers, "x-ratelimit-remaining-tokens"))
  const resetRequestsMs = parseDuration(header(headers, "x-ratelimit-reset-requests"))
  const resetTokensMs = parseDuration(header(headers, "x-ratelimit-reset-tokens"))
  if (
    limitRequests === undefined && limitTokens === undefined && remainingRequests === undefined &&
    remainingTokens === undefined && resetRequestsMs === undefined && resetTokensMs === undefined
  ) return undefined
  // The fields that parsed, in this order (what `compact` of all six gave, without its entries and copy).
  const fields: { -readonly [K in keyof RateLimitInfo]?: RateLimitInfo[K] } = {}
  if (limitRequests !== undefined) fields.limitRequests = limitRequests
  if (limitTokens !== undefined) fields.limitTokens = limitTokens
  if (remainingRequests !== undefined) fields.remainingRequests = remainingRequests
  if (remainingTokens !== undefined) fields.remainingTokens = remainingTokens
  if (resetRequestsMs !== undefined) fields.resetRequestsMs = resetRequestsMs
  if (resetTokensMs !== undefined) fields.resetTokensMs = resetTokensMs
  // The parsers only give non-negative (integer) numbers, as the Schema asks:
  // built without re-validating (~2 us per answer).
  return new RateLimitInfo(fields, true)
}

/** The Go-style duration of "Please try again in 7.5s" (`1m4.8s`, `20ms`) in an error message. */
const tryAgainIn = /try again in ((?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+)/i

/**
 * The wait a 429's message names ("... on tokens per day (TPD): ... Please
 * try again in 1m4.8s."): per-day limits (RPD, TPD) say it there alone, their
 * `x-ratelimit-*` headers being about the per-minute limits.
 */
const messageWaitMs = (message: string | null | undefined): number | undefined => {
  const match = message == null ? null : tryAgainIn.exec(message)
  return match === null ? undefined : parseDuration(match[1])
}

/**
 * The retry hint of an answer: `retry-after-ms`, then `retry-after`, then
 * the wait its error message names (`said`, see `messageWaitMs`), then the
 * reset of whichever limit is exhausted (the later one when both are), else
 * the sooner of the resets given.
 */
export const retryAfterMs = (
  headers: Headers.Headers,
  nowMs: number,
  info: RateLimitInfo | undefined,
  said?: number | undefined
): number | undefined => {
  const standard = standardRetryAfter(headers, nowMs) ?? said
  if (standard !== undefined || info === undefined) return standard
  const exhausted = [
    info.remainingRequests === 0 ? info.resetRequestsMs : undefined,
    info.remainingTokens === 0 ? info.resetTokensMs : undefined
  ].filter((n): n is number => n !== undefined)
  if (exhausted.length > 0) return Math.max(...exhausted)
  const resets = [info.resetRequestsMs, info.resetTokensMs].filter((n): n is number => n !== undefined)
  return resets.length > 0 ? Math.min(...resets) : undefined
}

const decodeErrorBody = Schema.decodeUnknownOption(Schema.parseJson(WireErrorBody))
const decodeFlatErrorBody = Schema.decodeUnknownOption(Schema.parseJson(WireFlatErrorBody))

/**
 * The error object of a `{"error": {...}}` body (some proxies send it with a
 * 200), or of vLLM's flat `{"object": "error", ...}`, if it is one.
 */
export const errorOfBody = (body: string): WireError | undefined =>
  Option.getOrUndefined(decodeErrorBody(body))?.error ?? Option.getOrUndefined(decodeFlatErrorBody(body))

/**
 * What says the prompt (with its `max_tokens`) is over the model's context
 * window: OpenAI's code, llama.cpp's type and message, vLLM's and TGI's messages.
 */
const contextPattern = /context_length_exceeded|exceed_context_size|maximum context length|exceeds the (available )?context (size|length|window)|`inputs` tokens \+ `max_new_tokens` must be/i

/** Whether an error object (or, when the body is not one, the body's text) says the prompt is over the context window. */
const overContext = (error: WireError | undefined, body: string): boolean =>
  codeOf(error) === "context_length_exceeded" ||
  contextPattern.test(error === undefined ? body : `${error.type ?? ""} ${error.message ?? ""}`)

const describe = (error: WireError | undefined, fallback: string, secrets: ReadonlyArray<string>) => {
  if (error === undefined) return fallback
  const kind = [error.type, error.code].filter((x) => x !== undefined && x !== null).join("/")
  return excerpt(`${kind.length > 0 ? `${kind}: ` : ""}${error.message ?? fallback}`, secrets)
}

const codeOf = (error: WireError | undefined) => (error?.code === undefined || error.code === null ? undefined : String(error.code))

/** Why a model the account does not have is not served (a chat's 404 / 403 `model_not_found`, a probe's model list without it). */
export const notOnAccount = "not served to this OpenAI account (check the registry's providerModel)"

/** Classify a non-2xx OpenAI answer. */
export const classify = (ctx: ErrorContext): ProviderError => {
  const error = errorOfBody(ctx.body)
  const code = codeOf(error)
  const detail = describe(error, ctx.excerpt.length > 0 ? ctx.excerpt : `HTTP ${ctx.status}`, ctx.info.secrets)
  const fields = fieldsOf(ctx, detail)
  const hint = retryAfterMs(ctx.headers, ctx.nowMs, ctx.rateLimit, ctx.status === 429 ? messageWaitMs(error?.message) : undefined)
  if (code === "context_length_exceeded") return new ContextLengthExceeded(fields)
  if (code === "content_filter" || code === "content_policy_violation") return new ContentFiltered(fields)
  if (code === "insufficient_quota" || error?.type === "insufficient_quota") {
    return new Unauthorized({ ...fields, keyId: ctx.info.keyId })
  }
  if (ctx.status === 404 || code === "model_not_found") {
    return notServed(fields, notOnAccount)
  }
  if (classifyStatus(ctx.status) === "BadRequest") {
    if (overContext(error, ctx.body)) return new ContextLengthExceeded(fields)
    return badRequest(fields, detail, error?.param ?? undefined)
  }
  return genericError(ctx, detail, hint)
}

/**
 * Classify a mid-stream `{"error": ...}` event, or a 200 body that is one (the status is already 200):
 * by its code and type, ServerError when they say nothing known.
 */
export const classifyStreamError = (error: WireError, base: Omit<CommonFields, "detail">, secrets: ReadonlyArray<string>): ProviderError => {
  const code = codeOf(error)
  const fields = { ...base, detail: describe(error, "error event in stream", secrets) }
  const kind = `${code ?? ""} ${error.type ?? ""}`
  if (overContext(error, "")) return new ContextLengthExceeded(fields)
  if (code === "content_filter" || code === "content_policy_violation") return new ContentFiltered(fields)
  if (code === "insufficient_quota") return new Unauthorized(fields)
  if (/rate_limit|slow_down/.test(kind)) return new RateLimited({ ...fields, retryAfterMs: undefined })
  if (/overloaded/.test(kind)) return new Overloaded({ ...fields, retryAfterMs: undefined })
  if (/invalid_request|unsupported_(parameter|value)/.test(kind)) return badRequest(fields, fields.detail, error.param ?? undefined)
  return new ServerError(fields)
}
