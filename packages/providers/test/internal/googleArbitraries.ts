/**
 * fast-check values of Gemini's `GenerateContentResponse` (a whole answer or
 * one streamed event), shared by the complete-answer and stream fast-path
 * properties: mostly the everyday shape, now and then a function call, an
 * unknown key, an `error` body or a wrong value.
 */
import * as fc from "fast-check"
import { anyValue, count, mostly, optional, rare } from "./wireArbitraries.js"

const word = fc.string({ maxLength: 6 })

/** A part: text (or a thought), now and then a signature or a function call. */
export const part = fc.oneof(
  {
    arbitrary: fc.record({
      text: optional(word),
      thought: rare(fc.boolean()),
      thoughtSignature: rare(word),
      functionCall: rare(fc.record({ name: mostly(word), args: optional(fc.constant({ city: "Paris" })) }, { requiredKeys: ["name"] })),
      inlineData: rare(fc.constant({ mimeType: "image/png", data: "AA==" }))
    }, { requiredKeys: [] }),
    weight: 12
  },
  { arbitrary: anyValue, weight: 1 }
)

/** A candidate: content of parts, a finish reason, an index, Gemini's extra keys now and then. */
export const candidate = fc.record({
  content: optional(fc.record({ role: optional(fc.constant("model")), parts: optional(fc.array(part, { maxLength: 3 })) }, { requiredKeys: [] })),
  finishReason: optional(fc.constantFrom("STOP", "MAX_TOKENS", "SAFETY", "MALFORMED_FUNCTION_CALL")),
  index: optional(count),
  safetyRatings: rare(fc.constant([{ category: "HARM_CATEGORY_HARASSMENT", probability: "NEGLIGIBLE" }])),
  avgLogprobs: rare(fc.double({ noNaN: true, noDefaultInfinity: true }))
}, { requiredKeys: [] })

/** A per-modality breakdown, now and then with odd entries. */
const modalities = rare(fc.oneof(
  fc.constant([{ modality: "TEXT", tokenCount: 3 }]),
  fc.constant([{ modality: "TEXT", tokenCount: 3 }, { modality: "AUDIO", tokenCount: 2 }]),
  fc.constant([{ tokenCount: 2, modality: "AUDIO", extra: true }, { modality: "IMAGE" }]),
  fc.constant([{ modality: "AUDIO", tokenCount: "2" }])
))

/** `usageMetadata`: every count optional, the per-modality details (the prompt's, its cached part's) now and then. */
export const usageMetadata = fc.record({
  promptTokenCount: optional(count),
  cachedContentTokenCount: optional(count),
  candidatesTokenCount: optional(count),
  toolUsePromptTokenCount: optional(count),
  thoughtsTokenCount: optional(count),
  totalTokenCount: optional(count),
  promptTokensDetails: modalities,
  cacheTokensDetails: modalities
}, { requiredKeys: [] })

/** A `GenerateContentResponse`, now and then with an `error` (google.rpc.Status) or a prompt block. */
export const response = fc.record({
  candidates: optional(fc.array(candidate, { maxLength: 2 })),
  promptFeedback: rare(fc.record({ blockReason: optional(fc.constantFrom("SAFETY", "OTHER")), safetyRatings: rare(fc.constant([])) }, { requiredKeys: [] })),
  usageMetadata: optional(usageMetadata),
  modelVersion: optional(word),
  responseId: optional(word),
  error: rare(fc.record({ code: mostly(count), message: mostly(word), status: optional(fc.constant("INTERNAL")) }))
}, { requiredKeys: [] })

/** Mostly responses, now and then any value at all. */
export const responseOrAny = fc.oneof({ arbitrary: response, weight: 12 }, { arbitrary: anyValue, weight: 1 })
