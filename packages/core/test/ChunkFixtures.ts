/**
 * Streamed chunks of a provider double, in the OpenAI shape: a text delta (or
 * an empty delta), a finish reason, and the final usage when given.
 */
import type { ChatChunk } from "@modelgate/domain/Chat"

/** Token counts of a final usage chunk. */
export interface ChunkUsage {
  readonly prompt: number
  readonly completion: number
}

/** One chunk from "upstream-model": `content` as its delta (none when undefined), `finish`, and `usage` when given. */
export const textChunk = (content: string | undefined, finish: "stop" | null = null, usage?: ChunkUsage): ChatChunk => ({
  id: "up",
  object: "chat.completion.chunk",
  created: 7,
  model: "upstream-model",
  choices: [{ index: 0, delta: content === undefined ? {} : { content }, finish_reason: finish }],
  ...(usage === undefined
    ? {}
    : { usage: { prompt_tokens: usage.prompt, completion_tokens: usage.completion, total_tokens: usage.prompt + usage.completion } })
}) as ChatChunk
