/**
 * Anthropic Messages response -> ChatResponse (OpenAI shape).
 */
import type { ChatResponse, FinishReason, ToolCall, Usage } from "@modelgate/domain/Chat"
import { Schema } from "effect"

const Count = Schema.NonNegativeInt

/** Anthropic `usage` (non-streaming, `message_start` and `message_delta`). */
export const AnthropicUsage = Schema.Struct({
  input_tokens: Schema.optional(Schema.NullOr(Count)),
  output_tokens: Schema.optional(Schema.NullOr(Count)),
  cache_creation_input_tokens: Schema.optional(Schema.NullOr(Count)),
  cache_read_input_tokens: Schema.optional(Schema.NullOr(Count)),
  /** The writes by lifetime (the 1-hour ones are billed higher). */
  cache_creation: Schema.optional(Schema.NullOr(Schema.Struct({
    ephemeral_5m_input_tokens: Schema.optional(Schema.NullOr(Count)),
    ephemeral_1h_input_tokens: Schema.optional(Schema.NullOr(Count))
  }))),
  output_tokens_details: Schema.optional(
    Schema.NullOr(Schema.Struct({ thinking_tokens: Schema.optional(Schema.NullOr(Count)) }))
  )
})
export type AnthropicUsage = typeof AnthropicUsage.Type

/** A `text` content block. */
export const TextBlock = Schema.Struct({ type: Schema.Literal("text"), text: Schema.String })

/** A `tool_use` content block: `input` is a JSON object. */
export const ToolUseBlock = Schema.Struct({
  type: Schema.Literal("tool_use"),
  id: Schema.String,
  name: Schema.String,
  input: Schema.Record({ key: Schema.String, value: Schema.Unknown })
})

/** Any other block (thinking, redacted_thinking, server tool blocks): kept out of the answer. */
export const OtherBlock = Schema.Struct({
  type: Schema.String.pipe(Schema.filter((t) => t !== "text" && t !== "tool_use"))
})

/** One content block of an answer. */
export const ContentBlock = Schema.Union(TextBlock, ToolUseBlock, OtherBlock)
export type ContentBlock = typeof ContentBlock.Type

/** The body of a successful `POST /v1/messages`. */
export const AnthropicResponse = Schema.Struct({
  id: Schema.String,
  type: Schema.optional(Schema.Literal("message")),
  role: Schema.Literal("assistant"),
  model: Schema.String,
  content: Schema.Array(ContentBlock),
  stop_reason: Schema.NullOr(Schema.String),
  stop_sequence: Schema.optional(Schema.NullOr(Schema.String)),
  usage: AnthropicUsage
})
export type AnthropicResponse = typeof AnthropicResponse.Type

/** Anthropic `stop_reason` -> OpenAI `finish_reason`; undefined for a reason we do not know. */
export const finishReasonOf = (stopReason: string): FinishReason | undefined => {
  switch (stopReason) {
    case "end_turn":
    case "stop_sequence":
    case "pause_turn":
      return "stop"
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length"
    case "tool_use":
      return "tool_calls"
    case "refusal":
      return "content_filter"
    default:
      return undefined
  }
}

/**
 * Anthropic usage -> OpenAI usage: `prompt_tokens` counts fresh input, cache
 * reads and cache writes; `cached_tokens` is the cache reads,
 * `cache_creation_tokens` the writes (`cache_creation_1h_tokens` of them
 * with the 1-hour lifetime).
 */
export const usageOf = (usage: AnthropicUsage): Usage => {
  const input = usage.input_tokens ?? 0
  const cacheRead = usage.cache_read_input_tokens ?? 0
  const cacheCreation = usage.cache_creation_input_tokens ?? 0
  const hourWrites = Math.min(usage.cache_creation?.ephemeral_1h_input_tokens ?? 0, cacheCreation)
  const output = usage.output_tokens ?? 0
  const prompt = input + cacheRead + cacheCreation
  const thinking = usage.output_tokens_details?.thinking_tokens
  return {
    prompt_tokens: prompt,
    completion_tokens: output,
    total_tokens: prompt + output,
    prompt_tokens_details: {
      cached_tokens: cacheRead,
      cache_creation_tokens: cacheCreation,
      ...(hourWrites > 0 ? { cache_creation_1h_tokens: hourWrites } : {})
    },
    ...(thinking != null ? { completion_tokens_details: { reasoning_tokens: thinking } } : {})
  }
}

/** Why a response could not be normalised. */
export type NormaliseProblem = { readonly _tag: "UnknownStopReason"; readonly stopReason: string | null }

/** The normalised answer, or the problem that stops it. `nowMs` sets `created`. */
export const fromAnthropicResponse = (
  response: AnthropicResponse,
  nowMs: number
): { readonly response: ChatResponse } | NormaliseProblem => {
  const finish = response.stop_reason === null ? undefined : finishReasonOf(response.stop_reason)
  if (finish === undefined) return { _tag: "UnknownStopReason", stopReason: response.stop_reason }
  let text = ""
  const toolCalls: Array<ToolCall> = []
  for (const block of response.content) {
    if (block.type === "text") text += (block as typeof TextBlock.Type).text
    else if (block.type === "tool_use") {
      const use = block as typeof ToolUseBlock.Type
      toolCalls.push({ id: use.id, type: "function", function: { name: use.name, arguments: JSON.stringify(use.input) } })
    }
  }
  return {
    response: {
      id: response.id,
      object: "chat.completion",
      created: Math.floor(nowMs / 1000),
      model: response.model,
      choices: [{
        index: 0,
        message: {
          role: "assistant",
          content: text === "" && toolCalls.length > 0 ? null : text,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
          refusal: null
        },
        logprobs: null,
        finish_reason: finish
      }],
      usage: usageOf(response.usage)
    }
  }
}
