/** fast-check values of Anthropic's wire usage, shared by the complete-answer and stream fast-path properties. */
import * as fc from "fast-check"
import { count, optional } from "./wireArbitraries.js"

/** A token count or null. */
const countOrNull = fc.oneof(fc.constant(null), count)

/** Anthropic's `usage` object: every field optional, mostly right, its details now and then with an unknown key. */
export const usage = fc.record({
  input_tokens: optional(countOrNull),
  output_tokens: optional(countOrNull),
  cache_creation_input_tokens: optional(countOrNull),
  cache_read_input_tokens: optional(countOrNull),
  cache_creation: optional(fc.oneof(
    fc.constant(null),
    fc.record({ ephemeral_5m_input_tokens: optional(countOrNull), ephemeral_1h_input_tokens: optional(countOrNull), other: optional(count) }, {
      requiredKeys: []
    })
  )),
  output_tokens_details: optional(fc.oneof(
    fc.constant(null),
    fc.record({ thinking_tokens: optional(countOrNull), other: optional(count) }, { requiredKeys: [] })
  )),
  service_tier: optional(fc.constant("standard"))
}, { requiredKeys: [] })
