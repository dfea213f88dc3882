/**
 * Streamed answers -> `ChatChunk`s in ONE pull over the body's pull per
 * stream (see `Pull`): server-sent events (Anthropic, Gemini; OpenAI has its
 * own in OpenAi/stream.ts) and newline-delimited JSON (Ollama). Each network
 * chunk is decoded, split into events or lines and translated synchronously
 * by a per-stream translator (no Effect and no extra Stream stage per event or
 * line: a chain of decodeText/mapConcatEffect/concat stages cost several
 * Effect ops per event).
 */
import type * as Sse from "@effect/experimental/Sse"
import type { ChatChunk, Usage } from "@modelgate/domain/Chat"
import type { ProviderError } from "@modelgate/domain/ProviderError"
import { Chunk, Effect, type Either, Option, type Stream } from "effect"
import { endOfPull, fromStream, type Pull, toStream } from "./pull.js"
import { makeUtf8Decoder } from "./utf8.js"

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
 * A UTF-8 BOM is already removed by the decoder (`makeUtf8Decoder`).
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
  /**
   * Whether the terminal event was seen (Anthropic's `message_stop`): the
   * stream ends there (with `end`'s chunks), the rest of the body is not
   * read. Absent: the body's end is the terminal event (Gemini).
   */
  readonly done?: () => boolean
  /**
   * Whether what was read is a whole answer (Gemini: every candidate asked
   * for has its `finishReason`): a body that breaks now (a reset, a stall
   * after the last event) has lost nothing, and the stream ends as at the
   * body's end. Absent or false: the body's failure fails the stream.
   */
  readonly complete?: () => boolean
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

/**
 * The chunks one body batch gave, then `after`: the next pull of the
 * translated stream, or its end / error, owed once those chunks are taken.
 */
export interface Gave<E> {
  (out: Array<ChatChunk>, after: Effect.Effect<never, Option.Option<E>>): Effect.Effect<Chunk.Chunk<ChatChunk>, Option.Option<E>>
}

/**
 * A pull of chunks over a body's pull: each body batch is handed to `onInput`
 * (which returns the chunks and, when the batch decided the stream, its end or
 * error), the body's end to `onEnd`, its failure to `onFailure`. A batch that
 * gives no chunk is followed by the next one in the same pull. `failing` tells
 * when the chunks just given are followed by an error already read, or by the
 * body's end already read before the stream's terminal event: that end fails
 * the stream unless the adapter finds the answer whole (`onEnd`), which a
 * consumer that asks learns by taking the rest (it waits on no network).
 */
export const translatedPull = <E, InErr>(
  body: Pull<Uint8Array, InErr>,
  handlers: (gave: Gave<E>, next: Effect.Effect<Chunk.Chunk<ChatChunk>, Option.Option<E>>) => {
    readonly onInput: (input: Chunk.Chunk<Uint8Array>) => Effect.Effect<Chunk.Chunk<ChatChunk>, Option.Option<E>>
    readonly onEnd: () => Effect.Effect<Chunk.Chunk<ChatChunk>, Option.Option<E>>
    readonly onFailure: (error: InErr) => Effect.Effect<Chunk.Chunk<ChatChunk>, Option.Option<E>>
  }
): Pull<ChatChunk, E> => {
  let owed: Effect.Effect<never, Option.Option<E>> | undefined
  const gave: Gave<E> = (out, after) => {
    if (out.length === 0) return after
    owed = after
    return Effect.succeed(Chunk.unsafeFromArray(out))
  }
  // Owed a failure after the chunks given, or the body already broke or ended behind them (`Pull.failing`, `Pull.ended`).
  const failing = () => owed === undefined ? body.failing?.() === true || body.ended?.() === true : owed !== endOfPull
  let step: Effect.Effect<Chunk.Chunk<ChatChunk>, Option.Option<E>>
  const next = Effect.suspend(() => step)
  const { onEnd, onFailure, onInput } = handlers(gave, next)
  step = Effect.matchEffect(body.pull, {
    onFailure: (error) => (Option.isNone(error) ? onEnd() : onFailure(error.value)),
    onSuccess: onInput
  })
  return { pull: Effect.suspend(() => owed ?? step), close: body.close, failing }
}

/** A failure of a translated pull. */
export const failWith = <E>(error: E): Effect.Effect<never, Option.Option<E>> => Effect.fail(Option.some(error))

/**
 * Translate an SSE body's pull with `translator` (fresh per stream). An
 * event larger than `maxEventSize` fails the stream with `onTooLarge`'s error
 * (the events of that network chunk are dropped). A partial event at the
 * very end (no blank line after it) is dropped, so a cut stream shows up as a
 * missing terminal event in `end`. A failing body fails the stream as it is,
 * unless `translator.complete()` says the answer was whole: then it ends as
 * at the body's end. The stream ends after the event that makes
 * `translator.done()` true: what follows it (a reset, a connection held
 * open) is not read.
 */
export const pullSse = <E, E2>(
  body: Pull<Uint8Array, E>,
  translator: ChunkTranslator,
  onTooLarge: (message: string) => E2
): Pull<ChatChunk, E | E2 | ProviderError> => {
  const decode = makeUtf8Decoder()
  let events: Array<Sse.Event> = []
  const parser = makeSseParser((event) => events.push(event))
  return translatedPull<E | E2 | ProviderError, E>(body, (gave, next) => {
    /** `out`, then the chunks owed at the end (or the error it is), then the end. */
    const ended = (out: Array<ChatChunk>) => {
      const result = translator.end()
      if (result._tag === "Left") return gave(out, failWith(result.left))
      for (const chunk of result.right) out.push(chunk)
      return gave(out, endOfPull)
    }
    return {
      onInput: (input) => {
        const out: Array<ChatChunk> = []
        for (const bytes of input) {
          const error = parser.feed(decode(bytes))
          const fed = events
          events = []
          if (error !== undefined) return gave(out, failWith(onTooLarge(error)))
          for (const event of fed) {
            const result = translator.push(event)
            if (result._tag === "Left") return gave(out, failWith(result.left))
            for (const chunk of result.right) out.push(chunk)
            if (translator.done?.() === true) return ended(out)
          }
        }
        return out.length === 0 ? next : Effect.succeed(Chunk.unsafeFromArray(out))
      },
      onFailure: (error) => (translator.complete?.() === true ? ended([]) : failWith(error)),
      onEnd: () => ended([])
    }
  })
}

/**
 * A stream's runs: `open` translates the body's pull with a fresh translator
 * (`makeTranslator`) each time, `chunks` is that as a `Stream`, and
 * `usageSoFar` is what the latest run's translator has read of the provider's
 * usage (Anthropic's `message_start`, Gemini's running totals).
 */
export const sseRuns = <T extends ChunkTranslator & { usageSoFar(): Usage | undefined }, E, E2>(
  body: () => Pull<Uint8Array, E>,
  makeTranslator: () => T,
  onTooLarge: (message: string) => E2
) => {
  let translator: T | undefined
  const open = () => {
    translator = makeTranslator()
    return pullSse(body(), translator, onTooLarge)
  }
  return { open, chunks: toStream(open), usageSoFar: () => translator?.usageSoFar() }
}

/**
 * Translate an SSE body with a fresh translator per stream run (`pullSse`
 * over the body stream's pull, as a `Stream`).
 */
export const translateSse = <E, E2>(
  body: Stream.Stream<Uint8Array, E>,
  makeTranslator: () => ChunkTranslator,
  onTooLarge: (message: string) => E2
): Stream.Stream<ChatChunk, E | E2 | ProviderError> => toStream(() => pullSse(fromStream(body), makeTranslator(), onTooLarge))

/**
 * Translate an NDJSON body's pull with `translator` (fresh per stream). Lines
 * end at `\n` (a `\r` before it is dropped); blank lines are skipped; a last
 * line without a trailing newline is still translated (so a truncated object
 * reaches the decoder), also when the body fails after it; when it does not
 * translate and is an object cut short, the stream fails as a body ending
 * there does (`interrupted()`, or the body's error). The stream ends
 * after the line that makes `done()` true; a body that ends before that is
 * `interrupted()`.
 */
export const pullNdjson = <E>(body: Pull<Uint8Array, E>, translator: LineTranslator): Pull<ChatChunk, E | ProviderError> => {
  const decode = makeUtf8Decoder()
  let pending = ""

  /** Translate one line into `out`: the error that ends the stream, if any. */
  const onLine = (line: string, out: Array<ChatChunk>): ProviderError | undefined => {
    if (line.trim().length === 0) return undefined
    const result = translator.push(line)
    if (result._tag === "Left") return result.left
    for (const chunk of result.right) out.push(chunk)
    return undefined
  }

  return translatedPull<E | ProviderError, E>(body, (gave, next) => {
    /**
     * The last, unterminated line (if any), then `after` unless it decided
     * the stream. One that fails as an object cut short (it opens one but
     * is no JSON) is the body's cut: `after` too, not a malformed answer.
     */
    const flush = (after: () => Effect.Effect<never, Option.Option<E | ProviderError>>) => {
      const out: Array<ChatChunk> = []
      const line = pending
      pending = ""
      const error = line.length === 0 ? undefined : onLine(line, out)
      if (error !== undefined) return gave(out, cutShort(line) ? after() : failWith(error))
      return gave(out, translator.done() ? endOfPull : after())
    }
    return {
      onInput: (input) => {
        const out: Array<ChatChunk> = []
        for (const bytes of input) {
          const text = pending + decode(bytes)
          let from = 0
          let newline = text.indexOf("\n")
          while (newline !== -1) {
            const end = newline > from && text.charCodeAt(newline - 1) === 13 ? newline - 1 : newline
            const error = onLine(text.slice(from, end), out)
            if (error !== undefined) return gave(out, failWith(error))
            // Lines after the terminal one are not read, nor is the rest of the body.
            if (translator.done()) return gave(out, endOfPull)
            from = newline + 1
            newline = text.indexOf("\n", from)
          }
          pending = text.slice(from)
        }
        return out.length === 0 ? next : Effect.succeed(Chunk.unsafeFromArray(out))
      },
      onFailure: (error) => flush(() => failWith(error)),
      onEnd: () => flush(() => failWith(translator.interrupted()))
    }
  })
}

/** Whether a line opens a JSON object that it does not close: the start of one, cut short. */
const cutShort = (line: string): boolean => line.trimStart().startsWith("{") && parseEventJson(line) === undefined

/**
 * Translate an NDJSON body with a fresh translator per stream run
 * (`pullNdjson` over the body stream's pull, as a `Stream`).
 */
export const translateNdjson = <E>(
  body: Stream.Stream<Uint8Array, E>,
  makeTranslator: () => LineTranslator
): Stream.Stream<ChatChunk, E | ProviderError> => toStream(() => pullNdjson(fromStream(body), makeTranslator()))
