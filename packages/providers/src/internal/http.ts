/**
 * How every adapter talks HTTP: one JSON request through `HttpClient` with the
 * provider's config (read per call, so a reload applies), a per-request
 * timeout, per-provider and per-model concurrency limits, transport
 * failures and non-2xx answers classified into the `ProviderError` union,
 * and `retryPolicy`.
 */
import { untilClosing } from "@modelgate/core/Closing"
import type { ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import { type ProviderError, StreamInterrupted, Timeout, Transport } from "@modelgate/domain/ProviderError"
import type { RateLimitInfo } from "@modelgate/domain/RateLimitInfo"
import {
  type Headers,
  HttpClient,
  type HttpClientError,
  type HttpClientRequest,
  type HttpClientResponse
} from "@effect/platform"
import { Cause, Clock, Context, type DefaultServices, Effect, Either, Exit, FiberRef, identity, Scope, type Stream } from "effect"
import { executeInScopeOf } from "../ScopedClient.js"
import { bufferedText, openBody, readText, readTextUpTo } from "./body.js"
import { type Deadline, makeWatchdogs } from "./deadline.js"
import { htmlText, isHtml } from "./htmlText.js"
import type { Limiter } from "./limiter.js"
import { type CallInfo, type ErrorContext, excerpt, type ResponseMeta } from "./errors.js"
import { type Pull, toStream } from "./pull.js"
import { modelLimiters, providerLimiters, releasePermits, takePermits } from "./permits.js"
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
 * becomes `Timeout`. The HTTP request and the concurrency permits are held
 * until the body's pull is closed (or its stream ends or is interrupted): the
 * caller must read it, through `open` or `body`, once.
 */
export interface StreamResponse extends ResponseMeta {
  /** The body as a bare pull (the primary form); `close` releases the request, the permits and the deadline, once. */
  readonly open: () => Pull<Uint8Array, ProviderError>
  /** The same body as a `Stream` (derived from `open`). */
  readonly body: Stream.Stream<Uint8Array, ProviderError>
}

/** Per-call options. */
export interface CallOptions {
  /** Retry with `retryPolicy` (default true; probes pass false). */
  readonly retry?: boolean
}

/**
 * A request, or how to build it from the provider's config (so a call reads
 * the config once, for the request and for its limits).
 */
export type RequestFor = HttpClientRequest.HttpClientRequest | ((config: ProviderConfig) => HttpClientRequest.HttpClientRequest)

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
    request: RequestFor,
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
    request: RequestFor,
    onOpen: (response: StreamResponse) => Effect.Effect<A, ProviderError>
  ) => Effect.Effect<A, ProviderError>
}

const requestOf = (request: RequestFor, config: ProviderConfig): HttpClientRequest.HttpClientRequest =>
  typeof request === "function" ? request(config) : request

/**
 * Build the HTTP client of one adapter from its spec. Its deadline watchdogs
 * live in the current `Scope` (the adapter's layer): closing it stops them.
 */
export const makeProviderHttp = (spec: ProviderSpec): Effect.Effect<ProviderHttp, never, HttpClient.HttpClient | Scope.Scope> =>
  Effect.gen(function*() {
    const base = yield* HttpClient.HttpClient
    const inScope = executeInScopeOf(base)
    const client = base.pipe(HttpClient.withScope)
    const limiterFor = providerLimiters()
    const modelLimiterFor = modelLimiters()
    /** The limiter of `info`'s model when it is capped (looked up per attempt: an idle one leaves the map). */
    const modelLimiterOf = (info: CallInfo): Limiter | undefined =>
      info.concurrency === undefined ? undefined : modelLimiterFor(info.model, info.concurrency)
    const watchdogs = makeWatchdogs(yield* Effect.scope)

    /**
     * A client failure as `Transport`; one that could not connect reads
     * "<cause> (<method> <url>)" and is `unreachable`. One before any HTTP
     * answer (refused, reset before the headers, DNS) is the `endpoint`'s.
     */
    const transport = (info: CallInfo, error: HttpClientError.HttpClientError) => {
      const common = error.reason === "Transport"
        ? { provider: spec.provider, model: info.model, endpoint: true }
        : { provider: spec.provider, model: info.model }
      if (error.reason === "Transport" && unreachableCodes.has(errorCode(error.cause) ?? "")) {
        const cause = error.cause instanceof Error ? error.cause.message : String(error.cause)
        const detail = `${cause} (${error.request.method} ${error.request.url})`
        return new Transport({ ...common, detail: excerpt(detail, info.secrets), unreachable: true })
      }
      return new Transport({ ...common, detail: excerpt(`${error.reason}: ${error.message}${causeText(error.cause)}`, info.secrets) })
    }

    const timeout = (info: CallInfo, timeoutMs: number, what: string) =>
      new Timeout({ provider: spec.provider, model: info.model, timeoutMs, detail: `no ${what} within ${timeoutMs} ms` })

    /** The `Clock` of a fiber (what `Effect.clockWith` reads). */
    const clockOf = (fiber: { readonly currentDefaultServices: Context.Context<DefaultServices.DefaultServices> }) =>
      Context.get(fiber.currentDefaultServices, Clock.Clock)

    /**
     * Send `request` and wait for its headers: a 2xx answer goes to `onOk`
     * with its meta (the headers are read once: the client builds them anew
     * on every access); a non-2xx one is read (its first `maxErrorBodyBytes`)
     * and classified, a transport failure is `Transport` (both passed through
     * `mapFailure`).
     *
     * A client that offers `executeInScope` is handed the deadline's scope
     * (closing it aborts the request). Any other one's `execute` runs with
     * the deadline's scope as the `Scope` service (`HttpClient.withScope`).
     * `Scope.extend` would do the same through `FiberRef.locally`, an
     * `acquireUseRelease` of ~28 Effect ops per call; here the fiber's context
     * (`outer`, read by the caller in its step) is set, and put back when
     * `execute` ends, by hand (~8 ops). The caller masks interruption; only
     * `execute` and body reads run interruptible (`restore`), so the context
     * is always put back. `onOk` continues in the same chain (no extra step).
     */
    const send = <A>(
      outer: Context.Context<never>,
      info: CallInfo,
      request: HttpClientRequest.HttpClientRequest,
      deadline: Deadline,
      restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>,
      mapFailure: (error: ProviderError) => ProviderError,
      onOk: (meta: ResponseMeta, response: HttpClientResponse.HttpClientResponse) => Effect.Effect<A, ProviderError>
    ): Effect.Effect<A, ProviderError> => {
      const answered = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<A, ProviderError> => {
        const nowMs = deadline.clock.unsafeCurrentTimeMillis()
        const headers = response.headers
        const meta: ResponseMeta = {
          status: response.status,
          headers,
          requestId: spec.requestId(headers),
          rateLimit: spec.rateLimit(headers, nowMs)
        }
        if (response.status >= 200 && response.status < 300) return onOk(meta, response)
        return Effect.flatMap(restore(Effect.orElseSucceed(readTextUpTo(response, maxErrorBodyBytes), () => "")), (body) => {
          // A proxy's HTML page: its text (title, message, ray id), not its markup.
          const text = isHtml(headers["content-type"], body) ? htmlText(body) : body
          return Effect.fail(
            mapFailure(spec.classify({ ...meta, provider: spec.provider, info, body, excerpt: excerpt(text, info.secrets), nowMs }))
          )
        })
      }
      const failed = (cause: Cause.Cause<HttpClientError.HttpClientError>) =>
        Effect.matchEffect(Effect.failCause(cause), {
          onFailure: (e) => Effect.fail(mapFailure(transport(info, e))),
          onSuccess: Effect.succeed
        })
      if (inScope !== undefined) {
        return Effect.matchCauseEffect(restore(inScope(request, deadline.scope)), { onFailure: failed, onSuccess: answered })
      }
      const putBack = FiberRef.set(FiberRef.currentContext, outer)
      // The `Scope` it requires is the one put into the context just before.
      const execute = client.execute(request) as Effect.Effect<
        HttpClientResponse.HttpClientResponse,
        HttpClientError.HttpClientError
      >
      return Effect.zipRight(
        FiberRef.set(FiberRef.currentContext, Context.add(outer, Scope.Scope, deadline.scope)),
        Effect.matchCauseEffect(restore(execute), {
          onFailure: (cause) => Effect.zipRight(putBack, failed(cause)),
          // `answered` is plain JS up to the Effect it gives (run after the context is put back).
          onSuccess: (response) => Effect.zipRight(putBack, answered(response))
        })
      )
    }

    /**
     * `run` (the call, holding its permits) once `wait` (for the permits, when
     * they were not free) is over. A call that waited asks
     * `info.stillWanted`: when its model was taken out meanwhile (its
     * provider stopped answering the calls ahead of it) or its client left,
     * the permits go back and it fails unsent (`notSent`) rather than wait out the timeout
     * once more. A wait interrupted (its client left a stream, the gateway
     * shut down) tells `info.onNotSent`: the call was not sent. A wait the
     * gateway's shutdown ends (`info.closing`) fails unsent at once. No step
     * when the permits were free.
     */
    const sendAfterPermits = <A>(
      info: CallInfo,
      permits: Effect.Effect<void> | undefined,
      limiter: Limiter,
      model: Limiter | undefined,
      run: Effect.Effect<A, ProviderError>
    ): Effect.Effect<A, ProviderError> => {
      if (permits === undefined) return run
      const onNotSent = info.onNotSent
      const told = onNotSent === undefined ? permits : Effect.onInterrupt(permits, onNotSent)
      const wait = info.closing === undefined ? told : untilShutdown(told, info.closing, info, limiter, model)
      const stillWanted = info.stillWanted
      if (stillWanted === undefined) return Effect.zipRight(wait, run)
      return Effect.zipRight(
        wait,
        Effect.flatMap(Effect.suspend(stillWanted), (wanted) => {
          if (wanted) return run
          releasePermits(limiter, model)
          return Effect.fail(notSent(info, `model ${info.model} was marked unavailable`))
        })
      )
    }

    /**
     * `wait` (for the permits) unless `closing` completes first, or already
     * has: the wait is then interrupted (telling `onNotSent`) and the call
     * fails unsent; permits it got just as it lost are given back
     * (`Closing.untilClosing`); the call's own interruption (its client left
     * a stream) still ends the wait.
     */
    const untilShutdown = (
      wait: Effect.Effect<void>,
      closing: Effect.Effect<void>,
      info: CallInfo,
      limiter: Limiter,
      model: Limiter | undefined
    ): Effect.Effect<void, Transport> =>
      untilClosing(
        wait,
        closing,
        Effect.fail(notSent(info, "the gateway is shutting down", true)),
        () => Effect.sync(() => releasePermits(limiter, model))
      )

    /** A call not sent, for `why` (the gateway `closing`, or not), while it waited for a permit (not retried, nothing charged). */
    const notSent = (info: CallInfo, why: string, closing?: true) =>
      new Transport({
        provider: spec.provider,
        model: info.model,
        detail: `not sent: ${why} while the call waited for a concurrency permit`,
        unreachable: true,
        notSent: true,
        ...(closing === undefined ? {} : { closing })
      })

    /**
     * One non-streaming exchange: a permit, then request, headers and body
     * within one deadline; the scope (the request) is closed at its end.
     * Interruption is masked but for the waits (`restore`), so the end is
     * one `matchCauseEffect` (not `Effect.onExit`, which masks again). The
     * deadline is armed and the request sent in one step that also reads the
     * fiber's clock and context.
     */
    const exchange = (info: CallInfo, request: HttpClientRequest.HttpClientRequest, timeoutMs: number, limiter: Limiter) =>
      Effect.uninterruptibleMask((restore) => {
        const model = modelLimiterOf(info)
        const run = Effect.flatMap(Scope.make(), (scope) =>
          Effect.withFiberRuntime<TextResponse, ProviderError>((fiber) => {
            const { deadline, start } = watchdogs.arm(scope, timeoutMs, clockOf(fiber))
            const end = () => {
              watchdogs.disarm(deadline)
              releasePermits(limiter, model)
            }
            const exchanged = Effect.matchCauseEffect(
              send(fiber.currentContext, info, request, deadline, restore, identity, (meta, response) => {
                // An answer that arrived whole is taken at once (no Effect of its own).
                const text = bufferedText(response)
                if (text !== undefined) return Effect.succeed<TextResponse>({ ...meta, body: text })
                return Effect.mapBoth(restore(readText(response)), {
                  onFailure: (e) => transport(info, e),
                  onSuccess: (body): TextResponse => ({ ...meta, body })
                })
              }),
              {
                // A body read to its end leaves nothing to abort: closing the
                // scope would only run the client's `AbortController.abort()`
                // (a DOMException and an event dispatch per call).
                onSuccess: (response) => {
                  end()
                  return Effect.succeed(response)
                },
                onFailure: (cause) => {
                  end()
                  // A failure after the deadline fired is `Timeout`, whatever the abort caused.
                  const failure = deadline.timedOut && Either.isLeft(Cause.failureOrCause(cause))
                    ? Exit.fail(timeout(info, deadline.timeoutMs, "answer"))
                    : Exit.failCause(cause)
                  return Effect.zipRight(Scope.close(scope, failure), failure)
                }
              }
            )
            return start === undefined ? exchanged : Effect.zipRight(start, exchanged)
          }))
        return sendAfterPermits(info, takePermits(limiter, model, restore), limiter, model, run)
      })

    const call: ProviderHttp["call"] = (info, request, onSuccess, options) =>
      Effect.flatMap(spec.getConfig, (config) => {
        const attempt = (retried: number) =>
          Effect.flatMap(
            exchange(info, requestOf(request, config), config.timeoutMs, limiterFor(config.maxConcurrency)),
            retried === 0 ? onSuccess : (response) => onSuccess({ ...response, retried })
          )
        return options?.retry === false ? attempt(0) : withRetries(attempt, config, info.onRetry, info.abandoned)
      })

    const stream = <A>(
      info: CallInfo,
      request: RequestFor,
      onOpen: (response: StreamResponse) => Effect.Effect<A, ProviderError>
    ): Effect.Effect<A, ProviderError> =>
      Effect.flatMap(spec.getConfig, (config) => {
        const limiter = limiterFor(config.maxConcurrency)
        const req = requestOf(request, config)
        const attempt = (retried: number) => Effect.uninterruptibleMask((restore) => {
          const model = modelLimiterOf(info)
          const run = Effect.flatMap(Scope.make(), (scope) =>
            Effect.withFiberRuntime<A, ProviderError>((fiber) => {
              const { deadline, start } = watchdogs.arm(scope, config.timeoutMs, clockOf(fiber))
              let finished = false
              // Stop watching, give the permit back, and abort the request
              // unless its body was read to the end (see `exchange`). Once.
              const release = Effect.suspend(() => {
                if (finished) return Effect.void
                finished = true
                watchdogs.disarm(deadline)
                releasePermits(limiter, model)
                return deadline.drained ? Effect.void : Scope.close(scope, Exit.void)
              })
              // A failure before the body after the deadline fired is `Timeout`, whatever the abort caused.
              const timedOutOr = (error: ProviderError) => deadline.timedOut ? timeout(info, deadline.timeoutMs, "answer") : error
              const opened = send(fiber.currentContext, info, req, deadline, restore, timedOutOr, (meta, response) => {
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
                const open = () => openBody(response, deadline, broken, release)
                return restore(onOpen({ ...meta, ...(retried === 0 ? {} : { retried }), open, body: toStream(open) }))
              })
              // Masked here, so `release` runs whole (as `Effect.onError` would, with fewer steps).
              const released = Effect.tapErrorCause(opened, () => release)
              return start === undefined ? released : Effect.zipRight(start, released)
            }))
          return sendAfterPermits(info, takePermits(limiter, model, restore), limiter, model, run)
        })
        return withRetries(attempt, config, info.onRetry, info.abandoned)
      })

    return { spec, call, stream }
  })

/**
 * How much of a non-2xx answer's body is read: providers' own error bodies
 * are a few KB; a proxy's HTML page can be megabytes, or never end. What is
 * kept of it is an excerpt, and its JSON, when it is JSON, is at the start.
 */
const maxErrorBodyBytes = 64 * 1024

/**
 * Socket error codes that say nothing listens at the address. Only a refusal:
 * an unknown host or an unreachable network may be a passing DNS or network
 * fault, which retries and the failure threshold are for.
 */
const unreachableCodes: ReadonlySet<string> = new Set(["ECONNREFUSED"])

/** The system error code (`ECONNREFUSED`, ...) of a client failure's cause, or of the cause's own cause. */
const errorCode = (cause: unknown): string | undefined => {
  for (let c = cause, depth = 0; c instanceof Error && depth < 3; c = (c as { cause?: unknown }).cause, depth++) {
    const code = (c as { code?: unknown }).code
    if (typeof code === "string") return code
  }
  return undefined
}

const causeText = (cause: unknown): string => {
  if (cause instanceof Error) {
    const inner = (cause as { cause?: unknown }).cause
    const code = inner instanceof Error && "code" in inner ? ` (${String((inner as { code: unknown }).code)})` : ""
    return ` (${cause.message})${code}`
  }
  return ""
}
