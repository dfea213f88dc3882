/**
 * What a provider said about its rate limits in the headers of one answer.
 */
import { Schema } from "effect"

/**
 * Remaining capacity and time to reset as reported by the provider
 * (`x-ratelimit-*`, `anthropic-ratelimit-*`, ...). Resets are durations in
 * milliseconds from the moment the answer arrived.
 */
export class RateLimitInfo extends Schema.Class<RateLimitInfo>("RateLimitInfo")({
  limitRequests: Schema.optional(Schema.NonNegativeInt),
  limitTokens: Schema.optional(Schema.NonNegativeInt),
  remainingRequests: Schema.optional(Schema.NonNegativeInt),
  remainingTokens: Schema.optional(Schema.NonNegativeInt),
  resetRequestsMs: Schema.optional(Schema.NonNegative),
  resetTokensMs: Schema.optional(Schema.NonNegative)
}) {}
