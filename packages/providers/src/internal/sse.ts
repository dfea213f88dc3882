/**
 * Body decoders for streamed answers: server-sent events (OpenAI, Anthropic,
 * Gemini) on `@effect/experimental/Sse`, and newline-delimited JSON (Ollama).
 */
import * as Sse from "@effect/experimental/Sse"
import type { ChatChunk } from "@modelgate/domain/Chat"
import type { ProviderError } from "@modelgate/domain/ProviderError"
import { Effect, type Either, Stream } from "effect"

/** Default cap on one pending SSE event (1 MiB). */
export const maxEventSize = 1024 * 1024

/**
 * Decode a response body into SSE events (`event`, `data`, `id`). An event
 * larger than `maxEventSize` fails the stream with `onTooLarge`'s error.
 * A partial event at the very end (no blank line after it) is dropped, so a
 * cut stream shows up as a missing terminal event.
 */
export const sseEvents = <E, E2>(
  body: Stream.Stream<Uint8Array, E>,
  onTooLarge: (message: string) => E2
): Stream.Stream<Sse.Event, E | E2> =>
  Stream.suspend(() => {
    const pending: Array<Sse.Event> = []
    const parser = Sse.makeParser((event) => {
      if (event._tag === "Event") pending.push(event)
    }, { maxEventSize })
    return body.pipe(
      Stream.decodeText(),
      Stream.mapConcatEffect((text) => {
        const error = parser.feed(text)
        return error === undefined ? Effect.succeed(pending.splice(0)) : Effect.fail(onTooLarge(error.message))
      })
    )
  })

/**
 * Split a response body into non-empty lines (NDJSON). A last line without a
 * trailing newline is still emitted, so a truncated object reaches the decoder.
 */
export const ndjsonLines = <E>(body: Stream.Stream<Uint8Array, E>): Stream.Stream<string, E> =>
  body.pipe(
    Stream.decodeText(),
    Stream.splitLines,
    Stream.filter((line) => line.trim().length > 0)
  )

/** A stateful translator of one stream's SSE events into chunks. */
export interface ChunkTranslator {
  /** The chunks one event yields, or the error that ends the stream. */
  readonly push: (event: Sse.Event) => Either.Either<ReadonlyArray<ChatChunk>, ProviderError>
  /** The chunks owed when the body ends (finish, usage), or the error a premature end is. */
  readonly end: () => Either.Either<ReadonlyArray<ChatChunk>, ProviderError>
}

/** Run `events` through a fresh translator per stream run, ending with what `end` says. */
export const translateEvents = <E>(
  events: Stream.Stream<Sse.Event, E>,
  makeTranslator: () => ChunkTranslator
): Stream.Stream<ChatChunk, E | ProviderError> =>
  Stream.suspend(() => {
    const translator = makeTranslator()
    return events.pipe(
      Stream.mapConcatEffect((event) => translator.push(event)),
      Stream.concat(Stream.suspend(() => Stream.fromIterableEffect(translator.end())))
    )
  })
