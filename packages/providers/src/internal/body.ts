/**
 * Reading an answer's body cheaply. `@effect/platform-node`'s undici response
 * builds its `text` with `Effect.cached` + `Effect.runSync` (a fiber and ~60
 * Effect ops per answer) and its `stream` with a generic readable channel that
 * the caller then pipes through its own stages. When the response is that one
 * (its undici body is visible as `source.body`), these read the Node body
 * directly: the text with one promise, the stream as one bare pull that also
 * does the deadline's bookkeeping and the error mapping. Any other client's
 * response goes through `text` / `stream`.
 */
import type { ProviderError } from "@modelgate/domain/ProviderError"
import { HttpClientError, type HttpClientResponse } from "@effect/platform"
import { Chunk, Effect, Option, Stream } from "effect"
import type { Readable } from "node:stream"
import type { Deadline } from "./deadline.js"
import { endOfPull, fromStream, type Pull } from "./pull.js"

/** What `@effect/platform-node`'s undici response exposes of its body (not typed by the platform). */
interface UndiciResponse {
  readonly source?: { readonly body?: Readable & { readonly text?: () => Promise<string> } }
}

const undiciBody = (response: HttpClientResponse.HttpClientResponse) => {
  const body = (response as UndiciResponse).source?.body
  return body !== undefined && typeof body.read === "function" && typeof body.text === "function" ? body : undefined
}

/** The error the platform gives a body that broke (kept the same on the direct path). */
const decodeError = (response: HttpClientResponse.HttpClientResponse, cause: unknown) =>
  new HttpClientError.ResponseError({ request: response.request, response, reason: "Decode", cause })

/** Node's readable state: whether the stream's end was pushed (no public accessor before 'end' is emitted). */
const endPushed = (body: Readable): boolean =>
  (body as { readonly _readableState?: { readonly ended?: unknown } })._readableState?.ended === true

/**
 * The whole body when undici already has all of it (its end pushed, nothing
 * read, no error), taken with one `read()` (a paused stream gives every
 * buffered byte); undefined otherwise.
 */
const takeBuffered = (body: Readable): Buffer | undefined => {
  if (!endPushed(body) || body.readableFlowing !== null || body.readableEncoding !== null || body.errored !== null || body.destroyed) {
    return undefined
  }
  const bytes = body.read() as Buffer | null
  return bytes ?? Buffer.alloc(0)
}

/** Bytes as undici's `text()` decodes them: a UTF-8 BOM skipped, invalid bytes replaced. */
const utf8 = (bytes: Buffer): string =>
  bytes.toString("utf8", bytes.length > 2 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0)

/**
 * The whole body as text. A small answer usually arrives with its headers:
 * then its bytes are all buffered when they are asked for and are decoded at
 * once, in this step (undici's `text()` would install its consumer in a
 * microtask, wait for 'end' on the next tick and resolve a promise: ~20-40 us
 * more before a non-streamed answer can be written at concurrency 1). The
 * same text either way.
 */
export const readText = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<string, HttpClientError.ResponseError> => {
  const body = undiciBody(response)
  if (body === undefined) return response.text
  const buffered = takeBuffered(body)
  if (buffered !== undefined) return Effect.succeed(utf8(buffered))
  return Effect.tryPromise({ try: () => body.text!(), catch: (cause) => decodeError(response, cause) })
}

/**
 * The first `maxBytes` of the body as text (an error answer's: what is kept
 * of it is an excerpt), then reading stops: a proxy's page of megabytes, or
 * one that never ends, is not downloaded (the caller's scope, closed with the
 * failure, aborts the rest). The bytes kept are decoded as `readText` does.
 */
export const readTextUpTo = (
  response: HttpClientResponse.HttpClientResponse,
  maxBytes: number
): Effect.Effect<string, HttpClientError.ResponseError> => {
  const body = undiciBody(response)
  const buffered = body === undefined ? undefined : takeBuffered(body)
  if (buffered !== undefined) return Effect.succeed(utf8(buffered.subarray(0, maxBytes)))
  return Effect.map(
    Stream.runFoldWhile(
      response.stream,
      { chunks: [] as Array<Uint8Array>, bytes: 0 },
      (read) => read.bytes < maxBytes,
      (read, chunk) => {
        read.chunks.push(chunk)
        return { chunks: read.chunks, bytes: read.bytes + chunk.length }
      }
    ),
    (read) => utf8(Buffer.concat(read.chunks).subarray(0, maxBytes))
  )
}

/**
 * The whole body as text when it is all buffered already (see `readText`),
 * taken now, without an Effect; undefined otherwise (nothing is read then:
 * `readText` reads it).
 */
export const bufferedText = (response: HttpClientResponse.HttpClientResponse): string | undefined => {
  const body = undiciBody(response)
  const buffered = body === undefined ? undefined : takeBuffered(body)
  return buffered === undefined ? undefined : utf8(buffered)
}

/**
 * The body as a pull (see `Pull`), opened once. While a pull waits on the
 * provider, `deadline.waitingSince` holds when it started (the watchdog's
 * measure of a gap); a broken body fails with `broken(error)`. `close` stops
 * reading and then runs `release` (the permit, the watchdog, the abort of a
 * request whose body was not read to its end), once.
 */
export const openBody = (
  response: HttpClientResponse.HttpClientResponse,
  deadline: Deadline,
  broken: (error: HttpClientError.ResponseError) => ProviderError,
  release: Effect.Effect<void>
): Pull<Uint8Array, ProviderError> => {
  const body = undiciBody(response)
  return body === undefined ? viaPlatform(response, deadline, broken, release) : fromReadable(response, body, deadline, broken, release)
}

/** One pull over the Node readable (as the platform's channel, plus the deadline and the error mapping). */
const fromReadable = (
  response: HttpClientResponse.HttpClientResponse,
  body: Readable,
  deadline: Deadline,
  broken: (error: HttpClientError.ResponseError) => ProviderError,
  release: Effect.Effect<void>
): Pull<Uint8Array, ProviderError> => {
  let failure: { readonly cause: unknown } | undefined = body.errored ? { cause: body.errored } : undefined
  let ended = !body.readable
  // Set by any event since the last `read()` found nothing: no wake-up is lost.
  let signalled = false
  let wake: (() => void) | undefined
  const signal = () => {
    signalled = true
    const resume = wake
    wake = undefined
    resume?.()
  }
  const onError = (cause: unknown) => {
    failure = { cause }
    signal()
  }
  const onEnd = () => {
    ended = true
    signal()
  }
  body.on("readable", signal)
  body.on("error", onError)
  body.on("end", onEnd)
  // No canceler: a pull interrupted while it waits leaves `wake` set, and the next event calls
  // it for nothing (Effect's interruption and resumption of a wait share one callback, called
  // once). A canceler would wrap every wait in an interruption handler: ~4 Effect ops per wait,
  // i.e. per streamed event when they come one by one.
  const readable = Effect.async<void>((resume) => {
    if (signalled) return resume(Effect.void)
    wake = () => resume(Effect.void)
  })
  const pull: Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<ProviderError>> = Effect.suspend(() => {
    signalled = false
    let item = body.read() as Uint8Array | null
    if (item !== null) {
      deadline.waitingSince = undefined
      const items = [item]
      while ((item = body.read() as Uint8Array | null) !== null) items.push(item)
      return Effect.succeed(Chunk.unsafeFromArray(items))
    }
    if (failure !== undefined) {
      deadline.waitingSince = undefined
      return Effect.fail(Option.some(broken(decodeError(response, failure.cause))))
    }
    if (ended || body.readableEnded) {
      deadline.waitingSince = undefined
      deadline.drained = true
      return endOfPull
    }
    deadline.waitingSince ??= deadline.clock.unsafeCurrentTimeMillis()
    return Effect.zipRight(readable, pull)
  })
  let closed = false
  const close = Effect.suspend(() => {
    if (closed) return Effect.void
    closed = true
    // The consumer may stop at the last event (`[DONE]`) before the
    // body's end was read; when undici already pushed the body's end
    // (Node's readable state, no public accessor: `stream.isReadable`
    // waits for the 'end' event), the request is over and nothing is left
    // to abort. Without that state the request is aborted as before.
    if (endPushed(body)) {
      deadline.drained = true
    }
    body.off("readable", signal)
    body.off("error", onError)
    body.off("end", onEnd)
    return release
  })
  // Broke (a reset right after the last bytes read): the next pull fails without waiting on the network.
  const failing = () => failure !== undefined || body.errored != null
  // Closed normally (the end pushed right after the last bytes read): the next pull ends without waiting on the network.
  const endRead = () => ended || endPushed(body)
  return { pull, close, failing, ended: endRead }
}

/** Any other client: a pull over its `stream`, with the deadline and the error mapping. */
const viaPlatform = (
  response: HttpClientResponse.HttpClientResponse,
  deadline: Deadline,
  broken: (error: HttpClientError.ResponseError) => ProviderError,
  release: Effect.Effect<void>
): Pull<Uint8Array, ProviderError> => {
  const inner = fromStream(response.stream)
  const next: Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<ProviderError>> = Effect.matchEffect(inner.pull, {
    onFailure: (error) => {
      deadline.waitingSince = undefined
      if (Option.isSome(error)) return Effect.fail(Option.some(broken(error.value)))
      deadline.drained = true
      return endOfPull
    },
    onSuccess: (input) => {
      deadline.waitingSince = undefined
      return Effect.succeed(input)
    }
  })
  const pull = Effect.suspend(() => {
    deadline.waitingSince = deadline.clock.unsafeCurrentTimeMillis()
    return next
  })
  let closed = false
  const close = Effect.suspend(() => {
    if (closed) return Effect.void
    closed = true
    return Effect.zipRight(inner.close, release)
  })
  return { pull, close }
}
