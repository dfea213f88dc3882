/**
 * OpenAI SSE → `ChatChunk`s. Ends at `data: [DONE]` after every choice got
 * its `finish_reason`, or at the body's end after that without `[DONE]`
 * (vLLM, llama.cpp, TGI and some proxies close the body there); a body that
 * ends before every choice finished, or a `[DONE]` before it, is
 * `StreamInterrupted`, a `{"error": ...}` event is the matching error. When
 * the provider sent no usage chunk (asked for with `include_usage`, see
 * wire.ts), an estimated one is added.
 *
 * One pull over the body's pull per stream (see internal/pull.ts): each
 * network chunk is decoded, fed to the SSE parser and its events translated
 * synchronously (no Effect, no extra Stream stage per event); the chunk
 * decoder is built once per module.
 */
import type { ChatChunk, ChatRequest } from "@modelgate/domain/Chat"
import { MalformedResponse, type ProviderError, StreamInterrupted } from "@modelgate/domain/ProviderError"
import { Chunk, Effect, Either, Schema, type Stream } from "effect"
import {
  type CallInfo,
  describeParseError,
  endOfPull,
  estimatedUsage,
  excerpt,
  failWith,
  makeSseParser,
  maxEventSize,
  parseEventJson,
  type Pull,
  type StreamResponse,
  stripSecrets,
  toStream,
  translatedPull
} from "../internal/index.js"
import { classifyStreamError } from "./errors.js"
import { makeUtf8Decoder } from "../internal/utf8.js"
import { plainChunk } from "./chunkShape.js"
import { ToolCallIndexes } from "./toolIndexes.js"
import { type ChunkIdentity, normaliseChunk, WireChunk } from "./wire.js"

const decodeChunk = Schema.decodeUnknownEither(Schema.parseJson(WireChunk))

/** An event's data that is not the everyday chunk, as a `WireChunk` (the Schema; not JSON included), or why not. */
const wireChunk = (data: string, secrets: ReadonlyArray<string>): Either.Either<WireChunk, string> =>
  Either.mapLeft(decodeChunk(data), (e) => describeParseError(e, secrets))

/**
 * Translate a streamed chat-completions body: a pull over the body's pull
 * (opened here; the body is read once, through this pull or `translateStream`).
 */
export const pullStream = (
  provider: string,
  info: CallInfo,
  request: ChatRequest,
  response: StreamResponse,
  fallbackModel: string
): Pull<ChatChunk, ProviderError> => {
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
  /** Choices that streamed without their `finish_reason` yet, and those that got it. */
  const open = new Set<number>()
  const finished = new Set<number>()
  const decode = makeUtf8Decoder()
  /** The numbering of tool calls streamed without their `index` (toolIndexes.ts). */
  const indexes = new ToolCallIndexes()

  /** A translated chunk: to `out`, its text and usage noted (for the estimate owed when no usage comes). */
  const emit = (chunk: ChatChunk): void => {
    if (chunk.usage !== undefined && chunk.usage !== null) sawUsage = true
    for (const choice of chunk.choices) {
      if (choice.finish_reason !== null) {
        finished.add(choice.index)
        open.delete(choice.index)
      } else if (!finished.has(choice.index)) open.add(choice.index)
      const delta = choice.delta
      if (delta.content !== undefined && delta.content !== null) text += delta.content
      if (delta.tool_calls !== undefined) {
        for (const call of delta.tool_calls) text += `${call.function?.name ?? ""}${call.function?.arguments ?? ""}`
      }
    }
    out.push(chunk)
  }

  /** One event's data: its chunk goes to `out`; `done` at `[DONE]`; `failure` ends the stream. */
  const onEvent = (data: string): void => {
    if (data.trim() === "[DONE]") {
      done = true
      return
    }
    // The everyday chunk is read in plain JS straight into its `ChatChunk` (OpenAi/chunkShape.ts).
    const json = parseEventJson(data)
    const plain = plainChunk(json, identity)
    if (plain !== undefined) {
      // A chunk with an id sets the stream's identity (as below); `plain` already reads it so.
      const withId = (json as { readonly id?: unknown }).id !== undefined
      if (withId && (plain.id !== identity.id || plain.created !== identity.created || plain.model !== identity.model)) {
        identity = { id: plain.id, created: plain.created, model: plain.model }
      }
      emit(plain)
      return
    }
    const decoded = wireChunk(data, info.secrets)
    if (decoded._tag === "Left") {
      failure = new MalformedResponse({ ...base, detail: `${decoded.left}; event: ${excerpt(data, info.secrets, 200)}` })
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
    const chunk = normaliseChunk(wire, identity, indexes)
    if (chunk._tag === "Invalid") {
      failure = new MalformedResponse({ ...base, detail: `${stripSecrets(chunk.reason, info.secrets)}; event: ${excerpt(data, info.secrets, 200)}` })
      return
    }
    emit(chunk.value)
  }

  const parser = makeSseParser((event) => {
    // Events after `[DONE]` or a failure in the same network chunk are ignored.
    if (!done && failure === undefined) onEvent(event.data)
  }, maxEventSize)

  /**
   * The error a `[DONE]` is when the answer is not complete: a choice still
   * without its `finish_reason`, or no choice at all (an upstream that gave
   * up and closed the stream politely); undefined when it is complete.
   */
  const unfinished = (): ProviderError | undefined => {
    if (open.size === 0 && finished.size > 0) return undefined
    const detail = finished.size === 0 && open.size === 0
      ? "the stream reached data: [DONE] without any choice"
      : `the stream reached data: [DONE] before the finish_reason of choice ${[...open].join(", ")}`
    return new StreamInterrupted({ ...base, detail })
  }

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

  return translatedPull<ProviderError, ProviderError>(response.open(), (gave, next) => ({
    onInput: (input) => {
      for (const bytes of input) {
        const error = parser.feed(decode(bytes))
        if (error !== undefined && failure === undefined) failure = new MalformedResponse({ ...base, detail: error })
        if (done || failure !== undefined) break
      }
      const chunks = out
      out = []
      if (done) failure ??= unfinished()
      if (failure !== undefined) return gave(chunks, failWith(failure))
      if (done) {
        for (const chunk of tail()) chunks.push(chunk)
        return gave(chunks, endOfPull)
      }
      return chunks.length === 0 ? next : Effect.succeed(Chunk.unsafeFromArray(chunks))
    },
    onFailure: failWith,
    // Every choice finished: the whole answer came, only `[DONE]` is missing. Else the body was cut mid-answer.
    onEnd: () =>
      open.size === 0 && finished.size > 0
        ? gave([...tail()], endOfPull)
        : failWith(new StreamInterrupted({ ...base, detail: "the stream ended before data: [DONE]" }))
  }))
}

/** The same translation as a `Stream` (`pullStream` opened per run). */
export const translateStream = (
  provider: string,
  info: CallInfo,
  request: ChatRequest,
  response: StreamResponse,
  fallbackModel: string
): Stream.Stream<ChatChunk, ProviderError> => toStream(() => pullStream(provider, info, request, response, fallbackModel))
