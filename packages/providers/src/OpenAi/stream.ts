/**
 * OpenAI SSE → `ChatChunk`s. Ends only at `data: [DONE]`; a body that ends
 * before it is `StreamInterrupted`, a `{"error": ...}` event is the matching
 * error. When the provider sent no usage chunk, an estimated one is added.
 *
 * One channel stage per stream: each network chunk is decoded, fed to the SSE
 * parser and its events translated synchronously (no Effect, no extra Stream
 * stage per event); the chunk decoder is built once per module.
 */
import type { ChatChunk, ChatRequest } from "@modelgate/domain/Chat"
import { MalformedResponse, type ProviderError, StreamInterrupted } from "@modelgate/domain/ProviderError"
import { Channel, Chunk, Schema, Stream } from "effect"
import {
  type CallInfo,
  describeParseError,
  estimatedUsage,
  excerpt,
  makeSseParser,
  maxEventSize,
  type StreamResponse
} from "../internal/index.js"
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
    let failure: ProviderError | undefined
    let out: Array<ChatChunk> = []
    const decoder = new TextDecoder()

    /** One event's data: its chunk goes to `out`; `done` at `[DONE]`; `failure` ends the stream. */
    const onEvent = (data: string): void => {
      if (data.trim() === "[DONE]") {
        done = true
        return
      }
      const decoded = decodeChunk(data)
      if (decoded._tag === "Left") {
        failure = new MalformedResponse({ ...base, detail: `${describeParseError(decoded.left)}; event: ${excerpt(data, info.secrets, 200)}` })
        return
      }
      const wire = decoded.right
      if (wire.error !== undefined) {
        failure = classifyStreamError(wire.error, base, info.secrets)
        return
      }
      if (wire.id !== undefined) {
        identity = { id: wire.id, created: wire.created ?? identity.created, model: wire.model ?? identity.model }
      }
      const chunk = normaliseChunk(wire, identity)
      if (chunk._tag === "Invalid") {
        failure = new MalformedResponse({ ...base, detail: `${chunk.reason}; event: ${excerpt(data, info.secrets, 200)}` })
        return
      }
      if (chunk.value.usage !== undefined && chunk.value.usage !== null) sawUsage = true
      for (const choice of chunk.value.choices) {
        text += choice.delta.content ?? ""
        for (const call of choice.delta.tool_calls ?? []) text += `${call.function?.name ?? ""}${call.function?.arguments ?? ""}`
      }
      out.push(chunk.value)
    }

    const parser = makeSseParser((event) => {
      // Events after `[DONE]` or a failure in the same network chunk are ignored.
      if (!done && failure === undefined) onEvent(event.data)
    }, maxEventSize)

    /** The usage chunk owed at `[DONE]` when the provider sent none. */
    const tail = (): ReadonlyArray<ChatChunk> =>
      sawUsage ? [] : [{
        id: identity.id,
        object: "chat.completion.chunk",
        created: identity.created,
        model: identity.model,
        choices: [],
        usage: estimatedUsage(request, text)
      }]

    const emit = (chunks: Array<ChatChunk>) => Channel.write(Chunk.unsafeFromArray(chunks))

    const loop: Channel.Channel<Chunk.Chunk<ChatChunk>, Chunk.Chunk<Uint8Array>, ProviderError, ProviderError, unknown, unknown> = Channel
      .readWithCause({
        onInput: (input: Chunk.Chunk<Uint8Array>) => {
          for (const bytes of input) {
            const error = parser.feed(decoder.decode(bytes, { stream: true }))
            if (error !== undefined && failure === undefined) failure = new MalformedResponse({ ...base, detail: error })
            if (done || failure !== undefined) break
          }
          const chunks = out
          out = []
          if (failure !== undefined) {
            return chunks.length === 0 ? Channel.fail(failure) : Channel.zipRight(emit(chunks), Channel.fail(failure))
          }
          if (done) {
            for (const chunk of tail()) chunks.push(chunk)
            return chunks.length === 0 ? Channel.void : emit(chunks)
          }
          return chunks.length === 0 ? loop : Channel.zipRight(emit(chunks), loop)
        },
        onFailure: (cause) => Channel.failCause(cause),
        onDone: () => Channel.fail(new StreamInterrupted({ ...base, detail: "the stream ended before data: [DONE]" }))
      })

    return Stream.fromChannel(Channel.pipeTo(Stream.toChannel(response.body), loop))
  })
