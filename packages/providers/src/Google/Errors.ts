/**
 * Gemini failures (google.rpc.Status bodies) -> the ProviderError union.
 * Decided here and nowhere else.
 */
import {
  BadRequest,
  ContextLengthExceeded,
  type ProviderError,
  RateLimited,
  Timeout,
  Unauthorized
} from "@modelgate/domain/ProviderError"
import { Option, Schema } from "effect"
import { detailOf, type ErrorContext, fieldsOf, genericError, notServed } from "../internal/errors.js"
import { parseDuration, standardRetryAfter } from "../internal/headers.js"
import { isPerDay, untilPacificMidnight } from "./DailyQuota.js"

/** One entry of `error.details`: RetryInfo, ErrorInfo, QuotaFailure, Help, ... */
export const StatusDetail = Schema.Struct({
  "@type": Schema.optional(Schema.String),
  retryDelay: Schema.optional(Schema.String),
  reason: Schema.optional(Schema.String),
  violations: Schema.optional(Schema.Array(Schema.Struct({
    quotaId: Schema.optional(Schema.String),
    quotaMetric: Schema.optional(Schema.String)
  })))
})

/** google.rpc.Status as Gemini sends it: `{"error":{"code","message","status","details"}}`. */
export const GoogleErrorBody = Schema.Struct({
  error: Schema.Struct({
    code: Schema.optional(Schema.Int),
    message: Schema.optional(Schema.String),
    status: Schema.optional(Schema.String),
    details: Schema.optional(Schema.Array(StatusDetail))
  })
})
export type GoogleErrorBody = typeof GoogleErrorBody.Type

/** Decode a google.rpc.Status body; undefined when the text is not one. */
export const decodeGoogleError = Schema.decodeUnknownOption(Schema.parseJson(GoogleErrorBody))

/** The `retryDelay` of a `google.rpc.RetryInfo` detail (`"30s"`), in milliseconds. */
export const retryDelayOf = (body: GoogleErrorBody | undefined): number | undefined => {
  const info = body?.error.details?.find((d) => d["@type"]?.endsWith("google.rpc.RetryInfo") === true)
  return parseDuration(info?.retryDelay)
}

/**
 * The wait a 429 asks for: until the day's end (midnight Pacific) when its
 * `QuotaFailure` names an exhausted per-day quota (its `RetryInfo` says
 * seconds, but nothing is served before then), else `RetryInfo.retryDelay`.
 */
export const rateLimitWaitOf = (body: GoogleErrorBody | undefined, nowMs: number): number | undefined => {
  const daily = body?.error.details?.some((d) =>
    d["@type"]?.endsWith("google.rpc.QuotaFailure") === true && d.violations?.some(isPerDay) === true
  ) === true
  const delay = retryDelayOf(body)
  return daily ? Math.max(delay ?? 0, untilPacificMidnight(nowMs)) : delay
}

const contextPattern = /input token count|exceeds the maximum number of tokens|context (window|length)|too long/i

/**
 * Gemini's words for a schema (of `response_format` or a tool) over its
 * constrained decoding's limit ("The specified schema produces a constraint
 * that has too many states for serving"): valid JSON Schema that OpenAI and
 * Anthropic may take.
 */
const schemaLimitPattern = /too many states for serving/i

/** The HTTP status that goes with a google.rpc status name (for errors inside a 200 stream). */
export const statusOfRpc: Readonly<Record<string, number>> = {
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  RESOURCE_EXHAUSTED: 429,
  CANCELLED: 499,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504
}

/**
 * Classify a non-2xx Gemini answer into exactly one error: 429
 * RESOURCE_EXHAUSTED is RateLimited with `RetryInfo.retryDelay` (until
 * midnight Pacific for a per-day quota: `rateLimitWaitOf`); 402 (credit
 * exhausted), a 400 with `API_KEY_INVALID` and a 400 FAILED_PRECONDITION
 * (the project's billing or location) are Unauthorized; a 400/500
 * saying the input has too many tokens is ContextLengthExceeded; 504
 * DEADLINE_EXCEEDED is Timeout; a 400 saying a schema is over Gemini's
 * limit is a BadRequest the model refused (failover tries the next); a 404 NOT_FOUND (a retired or misspelt
 * model, one the project may not use: the request names nothing else Gemini
 * looks up) is the registry's, not the request's: an unreachable Transport,
 * as Ollama's model not pulled, so the request fails over at once and the
 * model is taken out; the rest follows the generic status table (503
 * UNAVAILABLE Overloaded, 401/403 Unauthorized).
 */
export const classifyGoogle = (ctx: ErrorContext): ProviderError => {
  const parsed = Option.getOrUndefined(decodeGoogleError(ctx.body))
  const detail = detailOf(ctx, parsed && `${parsed.error.status ?? parsed.error.code ?? ctx.status}: ${parsed.error.message ?? ""}`)
  const fields = fieldsOf(ctx, detail)
  const retryAfterMs = rateLimitWaitOf(parsed, ctx.nowMs) ?? standardRetryAfter(ctx.headers, ctx.nowMs)
  const keyInvalid = parsed?.error.details?.some((d) => d.reason === "API_KEY_INVALID") === true
  const status = ctx.status
  if (status === 429) return new RateLimited({ ...fields, retryAfterMs })
  if (status === 402) return new Unauthorized({ ...fields, keyId: ctx.info.keyId, detail: `billing: ${detail}` })
  if (status === 400 && keyInvalid) return new Unauthorized({ ...fields, keyId: ctx.info.keyId })
  // The key's project cannot serve here (no billing where the free tier is not offered, a location not served): not the request's fault.
  if (status === 400 && parsed?.error.status === "FAILED_PRECONDITION") return new Unauthorized({ ...fields, keyId: ctx.info.keyId })
  if ((status === 400 || status === 500) && parsed !== undefined && contextPattern.test(parsed.error.message ?? "")) {
    return new ContextLengthExceeded(fields)
  }
  if (status === 504) return new Timeout(fields)
  if (status === 400 && schemaLimitPattern.test(parsed?.error.message ?? "")) return new BadRequest({ ...fields, modelRefused: true })
  if (status === 404) return notServed(fields, "not served by the Gemini API (a retired or misspelt model?)")
  return genericError(ctx, detail, retryAfterMs)
}
