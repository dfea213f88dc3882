/**
 * Token estimates for answers whose provider reported no usage. Counts made
 * here are always marked `estimated: true`.
 */
import { countText } from "@modelgate/core/TokenEstimator"
import type { ChatMessage, ChatRequest, Usage } from "@modelgate/domain/Chat"

/**
 * Tokens of `text` by TokenEstimator's by-script heuristic: four ASCII
 * characters a token, about a token a Chinese, Japanese or Korean character;
 * never zero for non-empty text.
 */
export const estimateTokens = (text: string): number => countText(text, "heuristic")

const messageText = (message: ChatMessage): string => {
  const content = message.content
  const text = typeof content === "string"
    ? content
    : content === undefined || content === null
    ? ""
    : content.map((part) => (part.type === "text" ? part.text : "")).join("\n")
  const calls = message.role === "assistant" && message.tool_calls !== undefined
    ? message.tool_calls.map((c) => `${c.function.name}${c.function.arguments}`).join("\n")
    : ""
  return `${message.role}\n${text}${calls}`
}

/** The text of a request's messages and tool definitions, for estimates. */
export const promptText = (request: ChatRequest): string =>
  request.messages.map(messageText).join("\n") + (request.tools !== undefined ? JSON.stringify(request.tools) : "")

/** An estimated usage for a request and the text generated for it. */
export const estimatedUsage = (request: ChatRequest, completionText: string): Usage => {
  const prompt = estimateTokens(promptText(request))
  const completion = estimateTokens(completionText)
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, estimated: true }
}
