/**
 * Streamed answers -> `ChatChunk`s in ONE channel stage per stream: server-sent
 * events (Anthropic, Gemini; OpenAI has its own in OpenAi/stream.ts) and
 * newline-delimited JSON (Ollama). Each network chunk is decoded, split into
 * events or lines and translated synchronously by a per-stream translator (no
 * Effect and no extra Stream stage per event or line: a chain of
 * decodeText/mapConcatEffect/concat stages cost several Effect ops per event).
 */
import * as Sse from "@effect/experimental/Sse"
import type { ChatChunk } from "@modelgate/domain/Chat"
import type { ProviderError } from "@modelgate/domain/ProviderError"
import { Channel, Chunk, type Either, Stream } from "effect"

/** Default cap on one pending SSE event (1 MiB). */
export const maxEventSize = 1024 * 1024

/** A stateful translator of one stream's SSE events into chunks. */
export interface ChunkTranslator {
  /** The chunks one event yields, or the error that ends the stream. */
  readonly push: (event: Sse.Event) => Either.Either<ReadonlyArray<ChatChunk>, ProviderError>
  /** The chunks owed when the body ends (finish, usage), or the error a premature end is. */
  readonly end: () => Either.Either<ReadonlyArray<ChatChunk>, ProviderError>
}

/** A stateful translator of one stream's NDJSON lines into chunks. */
export interface LineTranslator {
  /** The chunks one non-blank line yields, or the error that ends the stream. */
  readonly push: (line: string) => Either.Either<ReadonlyArray<ChatChunk>, ProviderError>
  /** Whether the terminal line was seen: the stream ends there, the rest of the body is not read. */
  readonly done: () => boolean
  /** The error a body that ends before the terminal line is. */
  readonly interrupted: () => ProviderError
}

/** The one stage: body bytes in, chunks out; `InErr` is the body's error, `OutErr` the stream's. */
type Stage<OutErr, InErr> = Channel.Channel<Chunk.Chunk<ChatChunk>, Chunk.Chunk<Uint8Array>, OutErr, InErr, unknown, unknown>

/** Write `chunks` (when there are any), then go on with `next`. */
const emitThen = <OutErr, InErr>(chunks: Array<ChatChunk>, next: Stage<OutErr, InErr>): Stage<OutErr, InErr> =>
  chunks.length === 0 ? next : Channel.zipRight(Channel.write(Chunk.unsafeFromArray(chunks)), next)

/**
 * Translate an SSE body with a fresh translator per stream run. An event
 * larger than `maxEventSize` fails the stream with `onTooLarge`'s error (the
 * events of that network chunk are dropped). A partial event at the very end
 * (no blank line after it) is dropped, so a cut stream shows up as a missing
 * terminal event in `end`. A failing body fails the stream as it is.
 */
export const translateSse = <E, E2>(
  body: Stream.Stream<Uint8Array, E>,
  makeTranslator: () => ChunkTranslator,
  onTooLarge: (message: string) => E2
): Stream.Stream<ChatChunk, E | E2 | ProviderError> =>
  Stream.suspend(() => {
    const translator = makeTranslator()
    const decoder = new TextDecoder()
    // A `\r` ending a network chunk is held back until the next one: the parser
    // would take it for a whole line end and the `\n` after it for a blank line.
    let heldCr = false
    let events: Array<Sse.Event> = []
    const parser = Sse.makeParser((event) => {
      if (event._tag === "Event") events.push(event)
    }, { maxEventSize })

    const loop: Stage<E | E2 | ProviderError, E> = Channel.readWithCause({
      onInput: (input: Chunk.Chunk<Uint8Array>) => {
        const out: Array<ChatChunk> = []
        for (const bytes of input) {
          let text = decoder.decode(bytes, { stream: true })
          if (heldCr) text = `\r${text}`
          heldCr = text.endsWith("\r")
          const error = parser.feed(heldCr ? text.slice(0, -1) : text)
          const fed = events
          events = []
          if (error !== undefined) return emitThen(out, Channel.fail(onTooLarge(error.message)))
          for (const event of fed) {
            const result = translator.push(event)
            if (result._tag === "Left") return emitThen(out, Channel.fail(result.left))
            for (const chunk of result.right) out.push(chunk)
          }
        }
        return emitThen(out, loop)
      },
      onFailure: (cause) => Channel.failCause(cause),
      onDone: () => {
        const result = translator.end()
        return result._tag === "Left" ? Channel.fail(result.left) : emitThen([...result.right], Channel.void)
      }
    })

    return Stream.fromChannel(Channel.pipeTo(Stream.toChannel(body), loop))
  })

/**
 * Translate an NDJSON body with a fresh translator per stream run. Lines end
 * at `\n` (a `\r` before it is dropped); blank lines are skipped; a last line
 * without a trailing newline is still translated (so a truncated object
 * reaches the decoder), also when the body fails after it. The stream ends
 * after the line that makes `done()` true; a body that ends before that is
 * `interrupted()`.
 */
export const translateNdjson = <E>(
  body: Stream.Stream<Uint8Array, E>,
  makeTranslator: () => LineTranslator
): Stream.Stream<ChatChunk, E | ProviderError> =>
  Stream.suspend(() => {
    const translator = makeTranslator()
    const decoder = new TextDecoder()
    let pending = ""

    /** Translate one line into `out`: the error that ends the stream, if any. */
    const onLine = (line: string, out: Array<ChatChunk>): ProviderError | undefined => {
      if (line.trim().length === 0) return undefined
      const result = translator.push(line)
      if (result._tag === "Left") return result.left
      for (const chunk of result.right) out.push(chunk)
      return undefined
    }

    /** The last, unterminated line (if any), then `after` unless it decided the stream. */
    const flush = (after: () => Stage<E | ProviderError, E>): Stage<E | ProviderError, E> => {
      const out: Array<ChatChunk> = []
      const error = pending.length === 0 ? undefined : onLine(pending, out)
      pending = ""
      if (error !== undefined) return emitThen(out, Channel.fail(error))
      return emitThen(out, translator.done() ? Channel.void : after())
    }

    const loop: Stage<E | ProviderError, E> = Channel.readWithCause({
      onInput: (input: Chunk.Chunk<Uint8Array>) => {
        const out: Array<ChatChunk> = []
        for (const bytes of input) {
          const text = pending + decoder.decode(bytes, { stream: true })
          let from = 0
          let newline = text.indexOf("\n")
          while (newline !== -1) {
            const end = newline > from && text.charCodeAt(newline - 1) === 13 ? newline - 1 : newline
            const error = onLine(text.slice(from, end), out)
            if (error !== undefined) return emitThen(out, Channel.fail(error))
            // Lines after the terminal one are not read, nor is the rest of the body.
            if (translator.done()) return emitThen(out, Channel.void)
            from = newline + 1
            newline = text.indexOf("\n", from)
          }
          pending = text.slice(from)
        }
        return emitThen(out, loop)
      },
      onFailure: (cause) => flush(() => Channel.failCause(cause)),
      onDone: () => flush(() => Channel.fail(translator.interrupted()))
    })

    return Stream.fromChannel(Channel.pipeTo(Stream.toChannel(body), loop))
  })
