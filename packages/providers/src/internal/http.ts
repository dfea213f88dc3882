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
import { Clock, Duration, Effect, Exit, Scope, Stream } from "effect"
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

    const transport = (info: CallInfo, error: HttpClientError.HttpClientError) =>
      new Transport({
        provider: spec.provider,
        model: info.model,
        detail: excerpt(`${error.reason}: ${error.message}${causeText(error.cause)}`, info.secrets)
      })

    const timeout = (info: CallInfo, timeoutMs: number, what: string) =>
      new Timeout({ provider: spec.provider, model: info.model, timeoutMs, detail: `no ${what} within ${timeoutMs} ms` })

    /**
     * Send and wait for headers in `scope`; non-2xx answers are read and
     * classified. `call` bounds the whole exchange with one timeout of the same
     * length, so it passes `timed: false` (a second timer would never win).
     */
    const open = (
      info: CallInfo,
      request: HttpClientRequest.HttpClientRequest,
      config: ProviderConfig,
      scope: Scope.Scope,
      timed: boolean
    ) => {
      const opening = Effect.gen(function*() {
        const response = yield* client.execute(request).pipe(
          Effect.mapError((e) => transport(info, e)),
          Scope.extend(scope)
        )
        const nowMs = yield* Clock.currentTimeMillis
        const meta: ResponseMeta = {
          status: response.status,
          headers: response.headers,
          requestId: spec.requestId(response.headers),
          rateLimit: spec.rateLimit(response.headers, nowMs)
        }
        if (response.status >= 200 && response.status < 300) return { response, meta }
        const body = yield* response.text.pipe(Effect.orElseSucceed(() => ""))
        return yield* Effect.fail(
          spec.classify({
            ...meta,
            provider: spec.provider,
            info,
            body,
            excerpt: excerpt(body, info.secrets),
            nowMs
          })
        )
      })
      return timed
        ? Effect.timeoutFail(opening, { duration: Duration.millis(config.timeoutMs), onTimeout: () => timeout(info, config.timeoutMs, "answer") })
        : opening
    }

    const call: ProviderHttp["call"] = (info, request, onSuccess, options) =>
      Effect.gen(function*() {
        const config = yield* spec.getConfig
        const sem = yield* semaphoreFor(config.maxConcurrency)
        const attempt = Effect.scoped(
          Effect.gen(function*() {
            const scope = yield* Effect.scope
            const { meta, response } = yield* open(info, request, config, scope, false)
            const body = yield* response.text.pipe(Effect.mapError((e) => transport(info, e)))
            return { ...meta, body }
          }).pipe(
            Effect.timeoutFail({ duration: Duration.millis(config.timeoutMs), onTimeout: () => timeout(info, config.timeoutMs, "answer") })
          )
        ).pipe(sem.withPermits(1), Effect.flatMap(onSuccess))
        return yield* options?.retry === false ? attempt : withRetries(attempt, config)
      })

    const stream: ProviderHttp["stream"] = (info, request, onOpen) =>
      Effect.gen(function*() {
        const config = yield* spec.getConfig
        const sem = yield* semaphoreFor(config.maxConcurrency)
        const attempt = Effect.uninterruptibleMask((restore) =>
          Effect.gen(function*() {
            const scope = yield* Scope.make()
            const release = Scope.close(scope, Exit.void)
            const opened = yield* restore(
              Effect.gen(function*() {
                yield* sem.take(1)
                yield* Scope.addFinalizer(scope, sem.release(1))
                return yield* open(info, request, config, scope, true)
              })
            ).pipe(Effect.onError(() => release))
            const body = opened.response.stream.pipe(
              Stream.mapError((e): ProviderError =>
                new StreamInterrupted({
                  provider: spec.provider,
                  model: info.model,
                  status: opened.meta.status,
                  requestId: opened.meta.requestId,
                  detail: excerpt(`body broke: ${e.message}${causeText(e.cause)}`, info.secrets)
                })
              ),
              Stream.timeoutFail(() => timeout(info, config.timeoutMs, "stream data"), Duration.millis(config.timeoutMs)),
              Stream.ensuring(release)
            )
            return yield* restore(onOpen({ ...opened.meta, body })).pipe(Effect.onError(() => release))
          })
        )
        return yield* withRetries(attempt, config)
      })

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
