/**
 * Replay a complete ChatResponse as OpenAI stream chunks, so a `stream`
 * request can be served from the cache.
 */
import type { ChatChunk, ChatResponse, Choice, ChunkChoice } from "@modelgate/domain/Chat"
import { Stream } from "effect"

/** Options of `replay`. */
export interface ReplayOptions {
  /** Emit the final usage chunk (`choices: []`), as OpenAI does with `stream_options.include_usage`. Default true. */
  readonly includeUsage?: boolean | undefined
  /** Content characters per chunk (code points, never splitting a surrogate pair). Default 256. */
  readonly chunkSize?: number | undefined
}

/** Split `text` into pieces of at most `size` code points. */
const pieces = (text: string, size: number): Array<string> => {
  const points = Array.from(text)
  const out: Array<string> = []
  for (let i = 0; i < points.length; i += size) out.push(points.slice(i, i + size).join(""))
  return out
}

/** The deltas of one choice: role, content pieces, refusal, annotations, tool calls, finish. */
const choiceDeltas = (choice: Choice, chunkSize: number): Array<ChunkChoice> => {
  const index = choice.index
  const message = choice.message
  const deltas: Array<ChunkChoice> = [{ index, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]
  for (const piece of pieces(message.content ?? "", chunkSize)) {
    deltas.push({ index, delta: { content: piece }, logprobs: null, finish_reason: null })
  }
  if (typeof message.refusal === "string" && message.refusal.length > 0) {
    deltas.push({ index, delta: { refusal: message.refusal }, logprobs: null, finish_reason: null })
  }
  if (message.annotations !== undefined && message.annotations.length > 0) {
    deltas.push({ index, delta: { annotations: message.annotations }, logprobs: null, finish_reason: null })
  }
  ;(message.tool_calls ?? []).forEach((call, position) => {
    deltas.push({
      index,
      delta: {
        tool_calls: [
          { index: position, id: call.id, type: "function", function: { name: call.function.name, arguments: call.function.arguments } }
        ]
      },
      logprobs: null,
      finish_reason: null
    })
  })
  deltas.push({ index, delta: {}, logprobs: null, finish_reason: choice.finish_reason })
  return deltas
}

/** The chunks `response` would have streamed as, in order. */
export const replayChunks = (response: ChatResponse, options: ReplayOptions = {}): Array<ChatChunk> => {
  const chunkSize = Math.max(1, Math.floor(options.chunkSize ?? 256))
  const base = {
    id: response.id,
    object: "chat.completion.chunk" as const,
    created: response.created,
    model: response.model,
    ...(response.system_fingerprint !== undefined ? { system_fingerprint: response.system_fingerprint } : {})
  }
  const chunks: Array<ChatChunk> = response.choices.flatMap((choice) =>
    choiceDeltas(choice, chunkSize).map((delta): ChatChunk => ({ ...base, choices: [delta] }))
  )
  if (options.includeUsage ?? true) chunks.push({ ...base, choices: [], usage: response.usage })
  return chunks
}

/** `response` as a stream of OpenAI chunks: role, content, tool-call deltas, finish, usage. */
export const replay = (response: ChatResponse, options: ReplayOptions = {}): Stream.Stream<ChatChunk> =>
  Stream.fromIterable(replayChunks(response, options))
