/**
 * Anthropic failures -> the ProviderError union, and `anthropic-ratelimit-*`
 * headers -> RateLimitInfo. Decided here and nowhere else.
 */
import type { Headers } from "@effect/platform"
import {
  BadRequest,
  ContextLengthExceeded,
  Overloaded,
  type ProviderError,
  RateLimited,
  Timeout,
  Unauthorized
} from "@modelgate/domain/ProviderError"
import { RateLimitInfo } from "@modelgate/domain/RateLimitInfo"
import { Option, Schema } from "effect"
import { detailOf, type ErrorContext, fieldsOf, genericError, notServed } from "../internal/errors.js"
import { compact, header, parseCount, standardRetryAfter } from "../internal/headers.js"

/** Anthropic's error body: `{"type":"error","error":{"type","message","details"?},"request_id"}`. */
export const AnthropicErrorBody = Schema.Struct({
  type: Schema.optional(Schema.String),
  error: Schema.Struct({
    type: Schema.String,
    message: Schema.optional(Schema.String),
    details: Schema.optional(Schema.NullOr(Schema.Struct({ error_code: Schema.optional(Schema.String) })))
  }),
  request_id: Schema.optional(Schema.String)
})
export type AnthropicErrorBody = typeof AnthropicErrorBody.Type

const decodeErrorBody = Schema.decodeUnknownOption(Schema.parseJson(AnthropicErrorBody))

/** The `request-id` response header. */
export const requestIdOf = (headers: Headers.Headers): string | undefined => header(headers, "request-id")

/** An RFC 3339 reset timestamp as milliseconds from `nowMs` (never negative). */
const resetMs = (headers: Headers.Headers, name: string, nowMs: number): number | undefined => {
  const raw = header(headers, name)
  const at = raw === undefined ? Number.NaN : Date.parse(raw)
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs)
}

/** One `anthropic-ratelimit-<kind>-{limit,remaining,reset}` triple (each part undefined when absent). */
const tokenLimit = (headers: Headers.Headers, kind: string, nowMs: number) => ({
  limit: parseCount(header(headers, `anthropic-ratelimit-${kind}-limit`)),
  remaining: parseCount(header(headers, `anthropic-ratelimit-${kind}-remaining`)),
  resetMs: resetMs(headers, `anthropic-ratelimit-${kind}-reset`, nowMs)
})

/**
 * The token limit a next request's prompt runs into. Anthropic counts input
 * (ITPM) and output (OTPM) tokens apart, and its `tokens-*` is their sum (or
 * a workspace's total limit when one applies), which hides either one running
 * out. A request is held by the input limit (the registry's `tpm` is it) or
 * `tokens-*`, whichever has less remaining; once output is spent (0
 * remaining) every request is refused until the output reset. Output that is
 * low but not spent is the output limit's own (`outputOf`): Anthropic charges
 * each request's `max_tokens` against it when the request starts.
 */
const tokensOf = (headers: Headers.Headers, nowMs: number) => {
  const input = tokenLimit(headers, "input-tokens", nowMs)
  const total = tokenLimit(headers, "tokens", nowMs)
  const held = total.remaining === undefined || (input.remaining !== undefined && input.remaining <= total.remaining) ? input : total
  const output = tokenLimit(headers, "output-tokens", nowMs)
  if (output.remaining !== 0) return held
  const resetMs = held.remaining === 0 && held.resetMs !== undefined && output.resetMs !== undefined
    ? Math.max(held.resetMs, output.resetMs)
    : output.resetMs
  return { limit: held.limit, remaining: 0, resetMs }
}

/**
 * `anthropic-ratelimit-requests-*`; of the token headers the limit a next
 * request's prompt runs into (`tokensOf`: input, `tokens-*` or spent output);
 * and the output limit (`output-tokens-*`, OTPM), which the limiter holds
 * each call's `max_tokens` against (`RateLimiter.observe`); as
 * RateLimitInfo, undefined when none is present.
 */
export const parseRateLimit = (headers: Headers.Headers, nowMs: number): RateLimitInfo | undefined => {
  const tokens = tokensOf(headers, nowMs)
  const output = tokenLimit(headers, "output-tokens", nowMs)
  const fields = compact({
    limitRequests: parseCount(header(headers, "anthropic-ratelimit-requests-limit")),
    limitTokens: tokens.limit,
    remainingRequests: parseCount(header(headers, "anthropic-ratelimit-requests-remaining")),
    remainingTokens: tokens.remaining,
    resetRequestsMs: resetMs(headers, "anthropic-ratelimit-requests-reset", nowMs),
    resetTokensMs: tokens.resetMs,
    limitOutputTokens: output.limit,
    remainingOutputTokens: output.remaining,
    resetOutputTokensMs: output.resetMs
  })
  return Object.keys(fields).length === 0 ? undefined : new RateLimitInfo(fields)
}

/**
 * How long Anthropic asks us to wait: `retry-after-ms` / `retry-after`, else
 * the latest reset among the exhausted (`remaining: 0`) limits.
 */
export const retryAfterOf = (headers: Headers.Headers, nowMs: number): number | undefined => {
  const explicit = standardRetryAfter(headers, nowMs)
  if (explicit !== undefined) return explicit
  const waits = ["requests", "tokens", "input-tokens", "output-tokens"].flatMap((kind) => {
    if (parseCount(header(headers, `anthropic-ratelimit-${kind}-remaining`)) !== 0) return []
    const wait = resetMs(headers, `anthropic-ratelimit-${kind}-reset`, nowMs)
    return wait === undefined ? [] : [wait]
  })
  return waits.length === 0 ? undefined : Math.max(...waits)
}

const contextPattern = /prompt is too long|too many (input )?tokens|context (window|length)|exceed context limit/i

/** What Anthropic says in a 400 when the account cannot pay: credit exhausted, or the spend limit set for it reached. */
const billingPattern = /credit balance is too low|reached your specified API usage limits/i

/** The HTTP status Anthropic uses for an error `type` (for errors that arrive inside a 200 stream). */
export const statusOfType: Readonly<Record<string, number>> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529
}

/**
 * Anthropic's words for content over the Messages API's own limits, which
 * OpenAI and Gemini may take: an image or PDF ("image exceeds 5 MB
 * maximum", "image dimensions exceed max allowed size: 8000 pixels", "A
 * maximum of 100 PDF pages may be provided"), a `response_format` schema
 * structured outputs cannot compile ("Too many recursive definitions in
 * schema", "Schema is too complex").
 */
const apiLimitPattern =
  /image exceeds [\d.]+ ?MB maximum|image dimensions exceed max allowed size|maximum of \d+ PDF pages|too many recursive definitions in schema|schema is too complex/i

/**
 * Classify a non-2xx Anthropic answer into exactly one error. The status
 * decides the family; the body refines it: a 400 whose message says the
 * prompt is too long is ContextLengthExceeded, a 429 spend-limit answer is
 * Unauthorized (not retryable), `overloaded_error` is Overloaded, 402
 * billing is Unauthorized, 504 `timeout_error` is Timeout, a 404 (the
 * registry's `providerModel` is not one the account has, or a base URL the
 * API does not serve: the operator's setup, not the request) an unreachable
 * Transport, failed over at once and not retried. The retry hint is
 * `retry-after` or the reset time of an exhausted limit.
 */
export const classifyAnthropic = (ctx: ErrorContext): ProviderError => {
  const parsed = Option.getOrUndefined(decodeErrorBody(ctx.body))
  const detail = detailOf(ctx, parsed && `${parsed.error.type}: ${parsed.error.message ?? ""}`)
  const withId = parsed?.request_id !== undefined && ctx.requestId === undefined
    ? { ...ctx, requestId: parsed.request_id }
    : ctx
  const fields = fieldsOf(withId, detail)
  const retryAfterMs = retryAfterOf(ctx.headers, ctx.nowMs)
  const type = parsed?.error.type
  const status = ctx.status
  if (status === 429 && parsed?.error.details?.error_code === "enforced_spend_limit_reached") {
    return new Unauthorized({ ...fields, keyId: ctx.info.keyId, detail: `spend limit reached: ${detail}` })
  }
  if (status === 402) return new Unauthorized({ ...fields, keyId: ctx.info.keyId, detail: `billing: ${detail}` })
  // A 400 for an exhausted credit balance or a reached spend limit: the key's account cannot serve (fail over), not a bad request.
  if (status === 400 && billingPattern.test(parsed?.error.message ?? "")) {
    return new Unauthorized({ ...fields, keyId: ctx.info.keyId, detail: `billing: ${detail}` })
  }
  if (status >= 500 && status < 600 && type === "overloaded_error") return new Overloaded({ ...fields, retryAfterMs })
  if (status === 504) return new Timeout(fields)
  if ((status === 400 || status === 413) && contextPattern.test(detail)) return new ContextLengthExceeded(fields)
  if (status === 429) return new RateLimited({ ...fields, retryAfterMs })
  // Over the Messages API's request size (32 MB): this API's limit, not every model's; failover tries the next.
  if (status === 413) return new BadRequest({ ...fields, modelRefused: true })
  // Content over this API's own limits (an image, a PDF, a JSON schema), which OpenAI and Gemini may take: failover tries the next.
  if (status === 400 && apiLimitPattern.test(detail)) return new BadRequest({ ...fields, modelRefused: true })
  if (status === 404) {
    return notServed(fieldsOf(withId, detail), "not served to this Anthropic account (check the registry's providerModel)")
  }
  return genericError(withId, detail, retryAfterMs)
}
