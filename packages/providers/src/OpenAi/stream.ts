/**
 * OpenAI SSE → `ChatChunk`s. Ends only at `data: [DONE]`; a body that ends
 * before it is `StreamInterrupted`, a `{"error": ...}` event is the matching
 * error. When the provider sent no usage chunk, an estimated one is added.
 */
import type { ChatChunk, ChatRequest } from "@modelgate/domain/Chat"
import { MalformedResponse, type ProviderError, StreamInterrupted } from "@modelgate/domain/ProviderError"
import { Effect, Schema, Stream } from "effect"
import { type CallInfo, describeParseError, estimatedUsage, excerpt, sseEvents, type StreamResponse } from "../internal/index.js"
import { classifyStreamError } from "./errors.js"
import { type ChunkIdentity, normaliseChunk, WireChunk } from "./wire.js"

const decodeChunk = Schema.decodeUnknownEither(Schema.parseJson(WireChunk))

/** Translate a streamed chat-completions body. */
export const translateStream = (
  provider: string,
  info: CallInfo,
  request: ChatRequest,
  response: StreamResponse,
  fallbackModel: string
): Stream.Stream<ChatChunk, ProviderError> =>
  Stream.suspend(() => {
    const base = {
      provider,
      model: info.model,
      status: response.status,
      requestId: response.requestId,
      rateLimit: response.rateLimit
    }
    let identity: ChunkIdentity = { id: `chatcmpl-${response.requestId ?? "stream"}`, created: 0, model: fallbackModel }
    let done = false
    let sawUsage = false
    let text = ""

    const onEvent = (data: string): Effect.Effect<ReadonlyArray<ChatChunk>, ProviderError> => {
      if (data.trim() === "[DONE]") {
        done = true
        return Effect.succeed([])
      }
      const decoded = decodeChunk(data)
      if (decoded._tag === "Left") {
        return Effect.fail(
          new MalformedResponse({ ...base, detail: `${describeParseError(decoded.left)}; event: ${excerpt(data, info.secrets, 200)}` })
        )
      }
      const wire = decoded.right
      if (wire.error !== undefined) return Effect.fail(classifyStreamError(wire.error, base, info.secrets))
      if (wire.id !== undefined) {
        identity = { id: wire.id, created: wire.created ?? identity.created, model: wire.model ?? identity.model }
      }
      const chunk = normaliseChunk(wire, identity)
      if (chunk._tag === "Invalid") {
        return Effect.fail(new MalformedResponse({ ...base, detail: `${chunk.reason}; event: ${excerpt(data, info.secrets, 200)}` }))
      }
      if (chunk.value.usage !== undefined && chunk.value.usage !== null) sawUsage = true
      for (const choice of chunk.value.choices) {
        text += choice.delta.content ?? ""
        for (const call of choice.delta.tool_calls ?? []) text += `${call.function?.name ?? ""}${call.function?.arguments ?? ""}`
      }
      return Effect.succeed([chunk.value])
    }

    const events = sseEvents(response.body, (message) => new MalformedResponse({ ...base, detail: message })).pipe(
      Stream.takeUntil((event) => event.data.trim() === "[DONE]"),
      Stream.mapEffect((event) => onEvent(event.data)),
      Stream.flattenIterables
    )
    const tail = Stream.suspend((): Stream.Stream<ChatChunk, ProviderError> => {
      if (!done) {
        return Stream.fail(new StreamInterrupted({ ...base, detail: "the stream ended before data: [DONE]" }))
      }
      if (sawUsage) return Stream.empty
      return Stream.make<[ChatChunk]>({
        id: identity.id,
        object: "chat.completion.chunk",
        created: identity.created,
        model: identity.model,
        choices: [],
        usage: estimatedUsage(request, text)
      })
    })
    return Stream.concat(events, tail)
  })
