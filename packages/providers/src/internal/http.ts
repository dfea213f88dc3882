/**
 * How every adapter talks HTTP: one JSON request through `HttpClient` with the
 * provider's config (read per call, so a reload applies), a per-request
 * timeout, a per-provider concurrency limit, transport failures and non-2xx
 * answers classified into the `ProviderError` union, and `retryPolicy`.
 */
import type { ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import { type ProviderError, StreamInterrupted, Timeout, Transport } from "@modelgate/domain/ProviderError"
import type { RateLimitInfo } from "@modelgate/domain/RateLimitInfo"
import { type Headers, HttpClient, type HttpClientError, type HttpClientRequest } from "@effect/platform"
import { Effect, Exit, Scope, Stream } from "effect"
import { readText, streamBody } from "./body.js"
import { type Deadline, makeWatchdogs } from "./deadline.js"
import { type CallInfo, type ErrorContext, excerpt, type ResponseMeta } from "./errors.js"
import { withRetries } from "./retry.js"

/** What an adapter tells the HTTP layer about its provider. */
export interface ProviderSpec {
  /** Provider id (`openai`), used in every error. */
  readonly provider: string
  /** The provider's config, read at the start of every call. */
  readonly getConfig: Effect.Effect<ProviderConfig>
  /** The provider's request id header value, when present. */
  readonly requestId: (headers: Headers.Headers) => string | undefined
  /** The provider's rate-limit headers, parsed (`nowMs` = Clock time of the answer). */
  readonly rateLimit: (headers: Headers.Headers, nowMs: number) => RateLimitInfo | undefined
  /** Turn a non-2xx answer into exactly one error. */
  readonly classify: (ctx: ErrorContext) => ProviderError
}

/** A 2xx answer with its body read as text. */
export interface TextResponse extends ResponseMeta {
  readonly body: string
}

/**
 * A 2xx answer whose body is still streaming. Transport failures of the body
 * become `StreamInterrupted`; a gap between chunks longer than the timeout
 * becomes `Timeout`. The HTTP request and the concurrency permit are held
 * until this stream ends (or is interrupted): the caller must run it.
 */
export interface StreamResponse extends ResponseMeta {
  readonly body: Stream.Stream<Uint8Array, ProviderError>
}

/** Per-call options. */
export interface CallOptions {
  /** Retry with `retryPolicy` (default true; probes pass false). */
  readonly retry?: boolean
}

/** The HTTP client of one adapter. */
export interface ProviderHttp {
  readonly spec: ProviderSpec
  /**
   * Send `request`, read the whole body, and hand a 2xx answer to
   * `onSuccess` (where decoding and normalisation happen, so their failures
   * are retried too). Non-2xx answers go through `spec.classify`.
   */
  readonly call: <A>(
    info: CallInfo,
    request: HttpClientRequest.HttpClientRequest,
    onSuccess: (response: TextResponse) => Effect.Effect<A, ProviderError>,
    options?: CallOptions
  ) => Effect.Effect<A, ProviderError>
  /**
   * Send a streaming `request`; a 2xx answer is handed to `onOpen` with its
   * body as a stream. Failures before the body (status, timeout, transport)
   * are retried; nothing is retried once the body is handed over.
   */
  readonly stream: <A>(
    info: CallInfo,
    request: HttpClientRequest.HttpClientRequest,
    onOpen: (response: StreamResponse) => Effect.Effect<A, ProviderError>
  ) => Effect.Effect<A, ProviderError>
}

/**
 * A semaphore sized from `maxConcurrency`, rebuilt when a reload changes it.
 * A plain variable read in `Effect.sync` (not a `SynchronizedRef`): it is read
 * on every call and building a semaphore never suspends.
 */
const makeLimiter = Effect.sync(() => {
  let current: { readonly permits: number; readonly sem: Effect.Semaphore } | undefined
  return (permits: number) =>
    Effect.sync(() => {
      if (current === undefined || current.permits !== permits) {
        current = { permits, sem: Effect.unsafeMakeSemaphore(permits) }
      }
      return current.sem
    })
})

/** Build the HTTP client of one adapter from its spec. */
export const makeProviderHttp = (spec: ProviderSpec): Effect.Effect<ProviderHttp, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const client = (yield* HttpClient.HttpClient).pipe(HttpClient.withScope)
    const semaphoreFor = yield* makeLimiter
    const watchdogs = makeWatchdogs()

    const transport = (info: CallInfo, error: HttpClientError.HttpClientError) =>
      new Transport({
        provider: spec.provider,
        model: info.model,
        detail: excerpt(`${error.reason}: ${error.message}${causeText(error.cause)}`, info.secrets)
      })

    const timeout = (info: CallInfo, timeoutMs: number, what: string) =>
      new Timeout({ provider: spec.provider, model: info.model, timeoutMs, detail: `no ${what} within ${timeoutMs} ms` })

    /** The error of an exchange that failed after its deadline fired: `Timeout`, whatever the abort caused. */
    const failed = (info: CallInfo, deadline: Deadline, what: string) => (error: ProviderError) =>
      Effect.fail(deadline.timedOut ? timeout(info, deadline.timeoutMs, what) : error)

    /**
     * Send and wait for headers in `scope`; non-2xx answers are read and
     * classified. The headers are read once (the client builds them anew on
     * every access).
     */
    const open = (
      info: CallInfo,
      request: HttpClientRequest.HttpClientRequest,
      scope: Scope.Scope
    ) =>
      client.execute(request).pipe(
        Effect.mapError((e) => transport(info, e)),
        Scope.extend(scope),
        Effect.flatMap((response) =>
          Effect.clockWith((clock) => {
            const nowMs = clock.unsafeCurrentTimeMillis()
            const headers = response.headers
            const meta: ResponseMeta = {
              status: response.status,
              headers,
              requestId: spec.requestId(headers),
              rateLimit: spec.rateLimit(headers, nowMs)
            }
            if (response.status >= 200 && response.status < 300) return Effect.succeed({ response, meta })
            return Effect.flatMap(readText(response).pipe(Effect.orElseSucceed(() => "")), (body) =>
              Effect.fail(
                spec.classify({
                  ...meta,
                  provider: spec.provider,
                  info,
                  body,
                  excerpt: excerpt(body, info.secrets),
                  nowMs
                })
              ))
          })
        )
      )

    /** One non-streaming exchange: request, headers and body within one deadline; the scope is closed at its end. */
    const exchange = (info: CallInfo, request: HttpClientRequest.HttpClientRequest, timeoutMs: number) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(Scope.make(), (scope) =>
          Effect.flatMap(watchdogs.arm(scope, timeoutMs), (deadline) =>
            restore(
              Effect.flatMap(open(info, request, scope), ({ meta, response }) =>
                Effect.map(readText(response).pipe(Effect.mapError((e) => transport(info, e))), (body): TextResponse => ({ ...meta, body })))
            ).pipe(
              Effect.catchAll(failed(info, deadline, "answer")),
              Effect.onExit((exit) => {
                watchdogs.disarm(deadline)
                return Scope.close(scope, exit)
              })
            ))
        )
      )

    const call: ProviderHttp["call"] = (info, request, onSuccess, options) =>
      Effect.flatMap(spec.getConfig, (config) =>
        Effect.flatMap(semaphoreFor(config.maxConcurrency), (sem) => {
          const attempt = Effect.flatMap(sem.withPermits(1)(exchange(info, request, config.timeoutMs)), onSuccess)
          return options?.retry === false ? attempt : withRetries(attempt, config)
        }))

    const stream: ProviderHttp["stream"] = (info, request, onOpen) =>
      Effect.flatMap(spec.getConfig, (config) =>
        Effect.flatMap(semaphoreFor(config.maxConcurrency), (sem) => {
          const attempt = Effect.uninterruptibleMask((restore) =>
            Effect.gen(function*() {
              const scope = yield* Scope.make()
              const clock = yield* Effect.clock
              const opened = yield* restore(
                Effect.gen(function*() {
                  yield* sem.take(1)
                  yield* Scope.addFinalizer(scope, sem.release(1))
                  const deadline = yield* watchdogs.arm(scope, config.timeoutMs)
                  yield* Scope.addFinalizer(scope, Effect.sync(() => watchdogs.disarm(deadline)))
                  const opened = yield* open(info, request, scope).pipe(Effect.catchAll(failed(info, deadline, "answer")))
                  return { ...opened, deadline }
                })
              ).pipe(Effect.onError(() => Scope.close(scope, Exit.void)))
              const { deadline, meta } = opened
              // Waiting on the consumer now: the deadline re-arms on each pull.
              deadline.waitingSince = undefined
              const broken = (e: HttpClientError.ResponseError): ProviderError =>
                deadline.timedOut
                  ? timeout(info, deadline.timeoutMs, "stream data")
                  : new StreamInterrupted({
                    provider: spec.provider,
                    model: info.model,
                    status: meta.status,
                    requestId: meta.requestId,
                    detail: excerpt(`body broke: ${e.message}${causeText(e.cause)}`, info.secrets)
                  })
              const body = streamBody(opened.response, deadline, clock, broken).pipe(Stream.ensuring(Scope.close(scope, Exit.void)))
              return yield* restore(onOpen({ ...meta, body })).pipe(Effect.onError(() => Scope.close(scope, Exit.void)))
            })
          )
          return withRetries(attempt, config)
        }))

    return { spec, call, stream }
  })

const causeText = (cause: unknown): string => {
  if (cause instanceof Error) {
    const inner = (cause as { cause?: unknown }).cause
    const code = inner instanceof Error && "code" in inner ? ` (${String((inner as { code: unknown }).code)})` : ""
    return ` (${cause.message})${code}`
  }
  return ""
}
