/**
 * A streamed chat answer written straight to Node's `http.ServerResponse`:
 * the chunk stream is pulled in the handler's fiber and every batch of chunks
 * becomes one `res.write` of `data: {...}` frames, with backpressure (`write`
 * returning false waits for `'drain'`). Cheaper than an
 * `HttpServerResponse.stream` body, which the platform runs with
 * `Stream.runForEachChunk` (a forked fiber and two deferreds per stream).
 */
import { Cause, Channel, Effect, Either, Exit, Option, Scope, Stream } from "effect"
import type * as Http from "node:http"
import type { StreamAnswer, StreamPull } from "@modelgate/core/Gateway"
import type { ChatChunk } from "@modelgate/domain/Chat"
import type { ProviderError } from "@modelgate/domain/ProviderError"
import { type ApiError, errorBody, fromGatewayError, internal } from "./ApiError.js"
import * as KeepAlive from "./SseKeepAlive.js"
import { costHeader, formatUsd } from "./Usd.js"

const DONE = "data: [DONE]\n\n"

/** The `data:` frames of a batch of chunks; the usage chunk (`choices: []`) only when asked for. */
export const frames = (chunks: Iterable<ChatChunk>, includeUsage: boolean): string => {
  let text = ""
  for (const chunk of chunks) {
    if (includeUsage || chunk.choices.length > 0 || chunk.usage == null) text += `data: ${JSON.stringify(chunk)}\n\n`
  }
  return text
}

/** One SSE `data:` event carrying an OpenAI error object. */
export const errorFrame = (error: ApiError): string => `data: ${JSON.stringify(errorBody(error))}\n\n`

/** The error an answer's stream ends with after a failure (logged). */
export const streamError = (answer: StreamAnswer, cause: Cause.Cause<ProviderError>): Effect.Effect<ApiError> => {
  const failure = Cause.failureOption(cause)
  const error = failure._tag === "Some" ? fromGatewayError(failure.value) : internal(answer.meta.requestId)
  return Effect.as(
    Effect.logWarning("stream failed after it started").pipe(
      Effect.annotateLogs({ requestId: answer.meta.requestId, model: answer.meta.model, error: error.message }),
      Effect.annotateLogs(failure._tag === "Some" ? {} : { cause: Cause.pretty(cause) })
    ),
    error
  )
}

/**
 * `res.write(text)`, handed to the socket as soon as the running batch of
 * fibers is done. Node corks the socket on a response's write and uncorks it
 * on the next tick, but runs its next-tick queue only once the microtask queue
 * is empty: the event waited for every fiber that ran or was woken meanwhile
 * (Effect's scheduler runs them in microtasks), ~30-80 us at concurrency 1
 * before the first streamed byte. A microtask queued here runs before the
 * scheduler's next batch. Not uncorked at once: a write followed in the same
 * run by the end (`[DONE]`, an answer that arrived whole) stays one `writev`
 * (uncorking at once made that two: ~15-25% more CPU per stream at c=16).
 * Node's own uncork then finds the socket uncorked and does nothing. Returns
 * `res.write`'s answer (false: wait for 'drain').
 */
export const send = (res: Http.ServerResponse, text: string): boolean => {
  const socket = res.socket
  const corked = socket !== null && socket.writableCorked > 0
  const ok = res.write(text)
  // Only the cork this write added (a socket corked before stays as it was).
  if (socket !== null && !corked && socket.writableCorked > 0) {
    queueMicrotask(() => {
      if (!res.writableEnded && socket.writableCorked > 0) socket.uncork()
    })
  }
  return ok
}

const drained = (res: Http.ServerResponse): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    const go = () => resume(Effect.void)
    res.once("drain", go)
    return Effect.sync(() => res.off("drain", go))
  })

const ended = (res: Http.ServerResponse, last: string): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    // Resumes once the bytes are handed to the socket; a connection closed before
    // that interrupts the request's fiber (see HttpApp), which ends this wait.
    res.end(last, () => resume(Effect.void))
  })

/**
 * Write `answer` as SSE on `res` with `headers` (status 200): the chunks as
 * they come, then `data: [DONE]` on a clean end, or an error event (no
 * `[DONE]`) when the stream fails. When the fiber is interrupted (the client
 * left, or shutdown) the chunk stream is interrupted and the response ended,
 * so the platform writes nothing more. Completes when the body is written.
 *
 * The stream is pulled in this fiber (its channel pulled in a scope closed at
 * the end) rather than run with `Stream.run*`, which forks a fiber and awaits
 * two deferreds per stream: ~250 us against ~115 us per short stream.
 * `Channel.toPullIn` with the scope given, rather than `Stream.toPull` in
 * `Scope.extend`: no scope service provided and no `Option` wrapping per pull.
 * When the answer offers a bare pull (`StreamAnswer.open`, a provider's
 * stream) the writer pulls that instead: the upstream through one pull layer,
 * no channel of the writer's own (~270 Effect ops fewer per stream).
 * With `handed`, it completes as soon as the last event is given to `res`
 * (the caller counts the request until the response finishes or closes).
 * `keepAlive` watches the stream while it is written (`SseKeepAlive`).
 * Answers the error the stream ended with (its last event), if it broke.
 */
export const write = (
  res: Http.ServerResponse,
  headers: Record<string, string>,
  answer: StreamAnswer,
  includeUsage: boolean,
  handed = false,
  keepAlive: KeepAlive.SseKeepAlive = KeepAlive.off
): Effect.Effect<ApiError | undefined> =>
  answer.open === undefined
    ? writeStream(res, headers, answer, includeUsage, handed, keepAlive)
    : writePull(res, headers, answer, answer.open, includeUsage, handed, keepAlive)

/** The answer's chunk stream, pulled through its channel in a scope closed at the end. */
const writeStream = (
  res: Http.ServerResponse,
  headers: Record<string, string>,
  answer: StreamAnswer,
  includeUsage: boolean,
  handed: boolean,
  keepAlive: KeepAlive.SseKeepAlive
): Effect.Effect<ApiError | undefined> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(Scope.make(), (scope) => {
      const body = Effect.flatMap(Channel.toPullIn(Stream.toChannel(answer.chunks), scope), (pull) => {
        res.writeHead(200, headers)
        keepAlive.watch(res)
        // Each pull is a batch of chunks (`Right`) or the end of the stream (`Left`).
        const step: Effect.Effect<void, ProviderError> = Effect.flatMap(pull, (next) => {
          if (Either.isLeft(next)) return Effect.void
          const text = frames(next.right, includeUsage)
          return text === "" || send(res, text) ? step : Effect.zipRight(drained(res), step)
        })
        return step
      })
      return finish(res, answer, restore, body, (exit) => Scope.close(scope, exit), handed, keepAlive)
    })
  )

/**
 * The answer's bare pull (`StreamAnswer.open`): the upstream read through one
 * pull layer, no channel executor over it, closed once with the outcome.
 */
const writePull = (
  res: Http.ServerResponse,
  headers: Record<string, string>,
  answer: StreamAnswer,
  open: () => StreamPull,
  includeUsage: boolean,
  handed: boolean,
  keepAlive: KeepAlive.SseKeepAlive
): Effect.Effect<ApiError | undefined> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.suspend(() => {
      const { close, pull } = open()
      res.writeHead(200, headers)
      keepAlive.watch(res)
      // Each pull is a batch of chunks, or fails `None` at the end of the stream.
      const step: Effect.Effect<void, ProviderError> = Effect.matchEffect(pull, {
        onFailure: (end) => (Option.isNone(end) ? Effect.void : Effect.fail(end.value)),
        onSuccess: (chunks) => {
          const text = frames(chunks, includeUsage)
          return text === "" || send(res, text) ? step : Effect.zipRight(drained(res), step)
        }
      })
      return finish(res, answer, restore, step, close, handed, keepAlive)
    })
  )

/**
 * `last`, after adding the stream's settled cost as the `x-modelgate-cost-usd`
 * trailer, for a stream whose headers could not carry it (Chat.ts announces
 * it with a `Trailer` header): its `[DONE]`, or the error event of a stream
 * that broke (charged what the provider began).
 */
const withCostTrailer = (res: Http.ServerResponse, answer: StreamAnswer, last: string): string => {
  const cost = trailsCost(answer) ? answer.settledCostUsd?.() : undefined
  if (cost !== undefined) res.addTrailers({ [costHeader]: formatUsd(cost) })
  return last
}

/**
 * Whether a stream's cost goes in the `x-modelgate-cost-usd` trailer: its
 * headers could not carry it (known only once the stream settles) and the
 * gateway can tell it then. Chat.ts announces the trailer when this holds.
 */
export const trailsCost = (answer: StreamAnswer): boolean =>
  answer.meta.costUsd === undefined && answer.settledCostUsd !== undefined

/**
 * End the response after the body: the chunk stream is closed with its
 * outcome as soon as it ends, before the last event is written. Answers the
 * error event written, if the stream broke.
 */
const finish = (
  res: Http.ServerResponse,
  answer: StreamAnswer,
  restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>,
  body: Effect.Effect<void, ProviderError>,
  close: (exit: Exit.Exit<void, ProviderError>) => Effect.Effect<void>,
  handed: boolean,
  keepAlive: KeepAlive.SseKeepAlive
): Effect.Effect<ApiError | undefined> => {
  // The last event: waited for until written, or (`handed`) only given to `res` (no wake-up after the write).
  const last = (text: string) =>
    handed
      ? Effect.sync(() => {
        res.end(text)
      })
      : restore(ended(res, text))
  return Effect.matchCauseEffect(restore(body), {
    // Closing settles the stream (its cost is known after it): the cost trailer goes with the last event.
    onSuccess: () => {
      keepAlive.unwatch(res)
      return Effect.zipRight(close(Exit.void), Effect.suspend(() => Effect.as(last(withCostTrailer(res, answer, DONE)), undefined)))
    },
    onFailure: (cause) => {
      keepAlive.unwatch(res)
      return Effect.zipRight(
        close(Exit.failCause(cause)),
        Cause.isInterruptedOnly(cause)
          ? Effect.suspend(() => {
            // Interrupted (the client left, or shutdown): end the response so the platform writes nothing more.
            if (!res.writableEnded) res.end()
            return Effect.failCause(cause as Cause.Cause<never>)
          })
          // Broken: it was still charged (what the provider began), so the announced trailer goes with the error event.
          : Effect.flatMap(streamError(answer, cause), (error) => Effect.as(last(withCostTrailer(res, answer, errorFrame(error))), error))
      )
    }
  })
}
