/**
 * What a provider said about its rate limits in the headers of one answer.
 */
import { Schema } from "effect"

/**
 * Remaining capacity and time to reset as reported by the provider
 * (`x-ratelimit-*`, `anthropic-ratelimit-*`, ...). Resets are durations in
 * milliseconds from the moment the answer arrived. The `…OutputTokens` fields
 * are a separate limit on output tokens (Anthropic's OTPM), which the
 * provider charges each call's `max_tokens` up front.
 */
export class RateLimitInfo extends Schema.Class<RateLimitInfo>("RateLimitInfo")({
  limitRequests: Schema.optional(Schema.NonNegativeInt),
  limitTokens: Schema.optional(Schema.NonNegativeInt),
  remainingRequests: Schema.optional(Schema.NonNegativeInt),
  remainingTokens: Schema.optional(Schema.NonNegativeInt),
  resetRequestsMs: Schema.optional(Schema.NonNegative),
  resetTokensMs: Schema.optional(Schema.NonNegative),
  limitOutputTokens: Schema.optional(Schema.NonNegativeInt),
  remainingOutputTokens: Schema.optional(Schema.NonNegativeInt),
  resetOutputTokensMs: Schema.optional(Schema.NonNegative)
}) {}
