/**
 * Token estimates for answers whose provider reported no usage. Counts made
 * here are always marked `estimated: true`.
 */
import { countText, roughPromptTokens } from "@modelgate/core/TokenEstimator"
import type { ChatRequest, Usage } from "@modelgate/domain/Chat"

/**
 * Tokens of `text` by TokenEstimator's by-script heuristic: about four
 * characters of English a token, about a token a Chinese, Japanese or Korean character;
 * never zero for non-empty text.
 */
export const estimateTokens = (text: string): number => countText(text, "heuristic")

/**
 * Prompt tokens of `request` by TokenEstimator's by-script estimate, as the
 * gateway reserves them on a model without a tokenizer at hand: messages and
 * their framing, images, audio and files, tool definitions and a
 * `response_format` JSON schema (not only the messages' text).
 */
export const estimatedPromptTokens = (request: ChatRequest): number => roughPromptTokens(request)

/** An estimated usage for a request and the text generated for it. */
export const estimatedUsage = (request: ChatRequest, completionText: string): Usage => {
  const prompt = estimatedPromptTokens(request)
  const completion = estimateTokens(completionText)
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, estimated: true }
}
