/**
 * Body decoders for streamed answers: server-sent events (OpenAI, Anthropic,
 * Gemini) on `@effect/experimental/Sse`, and newline-delimited JSON (Ollama).
 */
import * as Sse from "@effect/experimental/Sse"
import { Effect, Stream } from "effect"

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
