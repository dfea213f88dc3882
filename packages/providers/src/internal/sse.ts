/**
 * Streamed answers -> `ChatChunk`s in ONE channel stage per stream: server-sent
 * events (Anthropic, Gemini; OpenAI has its own in OpenAi/stream.ts) and
 * newline-delimited JSON (Ollama). Each network chunk is decoded, split into
 * events or lines and translated synchronously by a per-stream translator (no
 * Effect and no extra Stream stage per event or line: a chain of
 * decodeText/mapConcatEffect/concat stages cost several Effect ops per event).
 */
import type * as Sse from "@effect/experimental/Sse"
import type { ChatChunk } from "@modelgate/domain/Chat"
import type { ProviderError } from "@modelgate/domain/ProviderError"
import { Channel, Chunk, type Either, Stream } from "effect"

/** Default cap on one pending SSE event (1 MiB). */
export const maxEventSize = 1024 * 1024

/** An incremental SSE parser: `feed` decoded text, get each complete event in `onEvent`. */
export interface SseParser {
  /** Parse more text: undefined, or the message of the error when the pending event outgrew `maxEventSize` (the parser is then reset). */
  readonly feed: (text: string) => string | undefined
}

/**
 * An SSE parser with the WHATWG rules the adapters need: a line ends at CRLF,
 * LF or CR (also when CR and LF arrive in different chunks); `data` lines of
 * one event are joined by "\n" and the event is dispatched at a blank line
 * when it has data; `event` names it ("message" by default); `id` is kept
 * unless it holds NUL; comments (`:`), `retry` and unknown fields are ignored.
 * A UTF-8 BOM is already removed by `TextDecoder`.
 *
 * Chosen over `@effect/experimental/Sse.makeParser` for speed: line ends and
 * fields are found with `indexOf`/`startsWith` instead of a JS loop over
 * every character (that `feed` was the largest single function in the
 * streaming profile).
 */
export const makeSseParser = (onEvent: (event: Sse.Event) => void, maxSize: number = maxEventSize): SseParser => {
  let pending = ""
  let skipLf = false
  let data: string | undefined
  let eventName: string | undefined
  let eventId: string | undefined

  const field = (text: string, start: number, end: number, name: string) =>
    end - start === name.length && text.startsWith(name, start)

  const onLine = (text: string, start: number, end: number): void => {
    if (start === end) {
      if (data !== undefined) {
        onEvent({ _tag: "Event", id: eventId, event: eventName ?? "message", data })
        data = undefined
        eventId = undefined
      }
      eventName = undefined
      return
    }
    let colon = text.indexOf(":", start)
    if (colon >= end) colon = -1
    if (colon === start) return
    const nameEnd = colon < 0 ? end : colon
    const valueStart = colon < 0 ? end : colon + 1 < end && text.charCodeAt(colon + 1) === 32 ? colon + 2 : colon + 1
    if (field(text, start, nameEnd, "data")) {
      const value = text.slice(valueStart, end)
      data = data === undefined ? value : `${data}\n${value}`
    } else if (field(text, start, nameEnd, "event")) {
      eventName = text.slice(valueStart, end)
    } else if (field(text, start, nameEnd, "id")) {
      const value = text.slice(valueStart, end)
      if (!value.includes("\u0000")) eventId = value
    }
  }

  const feed = (chunk: string): string | undefined => {
    const text = pending.length === 0 ? chunk : pending + chunk
    let pos = 0
    if (skipLf && text.length > 0) {
      if (text.charCodeAt(0) === 10) pos = 1
      skipLf = false
    }
    let lf = text.indexOf("\n", pos)
    let cr = text.indexOf("\r", pos)
    while (lf !== -1 || cr !== -1) {
      if (cr === -1 || (lf !== -1 && lf < cr)) {
        onLine(text, pos, lf)
        pos = lf + 1
      } else {
        onLine(text, pos, cr)
        if (cr + 1 === text.length) skipLf = true
        pos = text.charCodeAt(cr + 1) === 10 ? cr + 2 : cr + 1
      }
      if (lf !== -1 && lf < pos) lf = text.indexOf("\n", pos)
      if (cr !== -1 && cr < pos) cr = text.indexOf("\r", pos)
    }
    pending = pos === 0 ? text : text.slice(pos)
    if (pending.length + (data?.length ?? 0) > maxSize) {
      pending = ""
      skipLf = false
      data = undefined
      eventName = undefined
      eventId = undefined
      return `Pending SSE event exceeded the maximum size of ${maxSize}`
    }
    return undefined
  }

  return { feed }
}

/**
 * The JSON value of an event's data, or undefined when it is not JSON. The
 * translators parse once and decode the value with `decodeUnknown*` of their
 * Schema (cheaper than `Schema.parseJson`, and one parse serves two checks).
 */
export const parseEventJson = (data: string): unknown => {
  try {
    return JSON.parse(data) as unknown
  } catch {
    return undefined
  }
}

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
    let events: Array<Sse.Event> = []
    const parser = makeSseParser((event) => events.push(event))

    const loop: Stage<E | E2 | ProviderError, E> = Channel.readWithCause({
      onInput: (input: Chunk.Chunk<Uint8Array>) => {
        const out: Array<ChatChunk> = []
        for (const bytes of input) {
          const error = parser.feed(decoder.decode(bytes, { stream: true }))
          const fed = events
          events = []
          if (error !== undefined) return emitThen(out, Channel.fail(onTooLarge(error)))
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
