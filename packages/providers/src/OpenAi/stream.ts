/**
 * OpenAI SSE → `ChatChunk`s. Ends only at `data: [DONE]`; a body that ends
 * before it is `StreamInterrupted`, a `{"error": ...}` event is the matching
 * error. When the provider sent no usage chunk, an estimated one is added.
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
  toStream,
  translatedPull
} from "../internal/index.js"
import { classifyStreamError } from "./errors.js"
import { isCount, isObject } from "../internal/plainJson.js"
import { isOptString, isWireUsage } from "./shape.js"
import { type ChunkIdentity, normaliseChunk, WireChunk } from "./wire.js"

const decodeChunk = Schema.decodeUnknownEither(Schema.parseJson(WireChunk))

const isPlainChoice = (u: unknown): boolean => {
  if (!isObject(u) || !isCount(u.index) || !isOptString(u.finish_reason)) return false
  const delta = u.delta
  if (delta === undefined || delta === null) return true
  return isObject(delta) && isOptString(delta.role) && isOptString(delta.content) && isOptString(delta.refusal) &&
    (delta.tool_calls === undefined || delta.tool_calls === null)
}

// The shape is shared with the response's; `toUsage` reads only the known detail keys, so unknown ones are ignored as by the Schema.
const isPlainUsage = (u: unknown): boolean => u === undefined || u === null || isWireUsage(u)

/**
 * The everyday chunk (text deltas, a finish reason, usage with or without
 * details, as OpenAI's `include_usage` chunk has them), recognised
 * in plain JS: a value this accepts is one `WireChunk` accepts, and reads the
 * same (unknown keys are ignored by `normaliseChunk` as by the Schema).
 * Anything else (tool calls, errors, malformed values) goes
 * through the Schema, which also words the errors. Chosen for speed: the
 * Schema decode was ~7 us per event, this ~0.3 us.
 */
export const isPlainChunk = (u: unknown): u is WireChunk => {
  if (!isObject(u) || u.error !== undefined) return false
  if (u.id !== undefined && typeof u.id !== "string") return false
  if (u.created !== undefined && !isCount(u.created)) return false
  if (u.model !== undefined && typeof u.model !== "string") return false
  if (!isOptString(u.system_fingerprint) || !isPlainUsage(u.usage)) return false
  const choices = u.choices
  if (choices === undefined) return true
  if (!Array.isArray(choices)) return false
  for (const choice of choices) if (!isPlainChoice(choice)) return false
  return true
}

/**
 * An event's data as a `WireChunk`: the everyday shape checked in plain JS,
 * anything else (not JSON included) decoded by the Schema as before.
 */
const wireChunk = (data: string): Either.Either<WireChunk, string> => {
  const json = parseEventJson(data)
  return isPlainChunk(json) ? Either.right(json) : Either.mapLeft(decodeChunk(data), describeParseError)
}

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
  const decoder = new TextDecoder()

  /** One event's data: its chunk goes to `out`; `done` at `[DONE]`; `failure` ends the stream. */
  const onEvent = (data: string): void => {
    if (data.trim() === "[DONE]") {
      done = true
      return
    }
    const decoded = wireChunk(data)
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

  return translatedPull<ProviderError, ProviderError>(response.open(), (gave, next) => ({
    onInput: (input) => {
      for (const bytes of input) {
        const error = parser.feed(decoder.decode(bytes, { stream: true }))
        if (error !== undefined && failure === undefined) failure = new MalformedResponse({ ...base, detail: error })
        if (done || failure !== undefined) break
      }
      const chunks = out
      out = []
      if (failure !== undefined) return gave(chunks, failWith(failure))
      if (done) {
        for (const chunk of tail()) chunks.push(chunk)
        return gave(chunks, endOfPull)
      }
      return chunks.length === 0 ? next : Effect.succeed(Chunk.unsafeFromArray(chunks))
    },
    onFailure: failWith,
    onEnd: () => failWith(new StreamInterrupted({ ...base, detail: "the stream ended before data: [DONE]" }))
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
