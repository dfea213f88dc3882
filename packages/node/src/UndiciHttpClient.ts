/**
 * A lean `HttpClient` over an undici `Dispatcher`, for the provider adapters'
 * request path (issue 6). `@effect/platform-node`'s undici client
 * (`NodeHttpClient.makeUndici`) is built on `HttpClient.make`, which for every
 * request parses the URL anew, makes an `AbortController` (and, under
 * `HttpClient.withScope`, a second one), converts the body in an Effect of
 * its own and waits on a promise: at concurrency 64 against the bench
 * upstream, the OpenAI adapter over it spent ~90-150 us of CPU per call where
 * undici alone spends ~30 (bench/micro-provider-concurrent.ts).
 *
 * This client sends a request whose body is empty or bytes with one
 * `Effect.async` over undici's callback `request`, and remembers the target
 * of the last URLs it parsed. It aborts the request through a minimal abort
 * signal when its scope closes, which is
 * - through `execute`: the `Scope` in the caller's context (what
 *   `HttpClient.withScope` gives), or the caller interrupted before the
 *   answer;
 * - through `executeInScope` (the adapters, `ScopedClient.ts`): the scope
 *   handed over, which the caller closes on any failure, interruption
 *   included; nothing is put into the caller's context.
 * Everything else goes to the platform's client unchanged: a request without
 * a `Scope` (the platform aborts those when their response is collected), a
 * streamed or form body, and any request while the tracer is on and the
 * trace context is propagated (the platform opens the client span and sends
 * the trace headers). Traced without propagation (`modelgate serve`'s traces:
 * no trace context to the providers), this client opens a light span of its
 * own: `http.client <METHOD>` with the method, the server, the URL without
 * its query and the status; no header is recorded.
 */
import { Headers, HttpClient, HttpClientError, type HttpClientRequest, type HttpClientResponse } from "@effect/platform"
import { Cookies, HttpIncomingMessage, UrlParams } from "@effect/platform"
import { TypeId as ResponseTypeId } from "@effect/platform/HttpClientResponse"
import { NodeHttpClient, NodeStream } from "@effect/platform-node"
import { type ExecuteInScope, executeInScope } from "@modelgate/providers/ScopedClient"
import { Context, Effect, ExecutionStrategy, Exit, type Fiber, FiberRef, Inspectable, Option, Scope, type Stream } from "effect"
import type { Dispatcher } from "undici"

/** An undici `request` target: origin and path (with query and hash). */
interface Target {
  readonly origin: string
  readonly path: string
}

/** How many parsed URLs are remembered (the adapters use a handful; cleared when full). */
const targetCacheSize = 256

/**
 * The smallest abort signal undici takes (an EventTarget-like object): one
 * listener, no events, no `DOMException` unless it aborts.
 */
class AbortSignalLite {
  aborted = false
  reason: unknown = undefined
  private listener: (() => void) | undefined = undefined
  addEventListener(_type: "abort", listener: () => void) {
    this.listener = listener
  }
  removeEventListener(_type: "abort", listener: () => void) {
    if (this.listener === listener) this.listener = undefined
  }
  abort() {
    if (this.aborted) return
    this.aborted = true
    this.reason = new Error("The request was aborted")
    const listener = this.listener
    this.listener = undefined
    listener?.()
  }
}

/** The answer of one request, read from undici's response data (as the platform's undici response reads it). */
class UndiciResponse extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [HttpIncomingMessage.TypeId]: HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  readonly [ResponseTypeId]: HttpClientResponse.TypeId = ResponseTypeId
  private cachedHeaders: Headers.Headers | undefined = undefined
  private cachedCookies: Cookies.Cookies | undefined = undefined
  private textBody: Promise<string> | undefined = undefined

  constructor(readonly request: HttpClientRequest.HttpClientRequest, readonly source: Dispatcher.ResponseData) {
    super()
    source.body.on("error", ignore)
  }

  get status() {
    return this.source.statusCode
  }
  get headers() {
    return this.cachedHeaders ??= Headers.fromInput(this.source.headers as Headers.Input)
  }
  get cookies() {
    if (this.cachedCookies !== undefined) return this.cachedCookies
    const header = this.source.headers["set-cookie"]
    return this.cachedCookies = header === undefined
      ? Cookies.empty
      : Cookies.fromSetCookie(Array.isArray(header) ? header : [header])
  }
  get remoteAddress() {
    return Option.none()
  }
  private decodeError(cause: unknown): HttpClientError.ResponseError {
    return new HttpClientError.ResponseError({ request: this.request, response: this, reason: "Decode", cause })
  }
  get stream(): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
    return NodeStream.fromReadable(() => this.source.body, (cause) => this.decodeError(cause))
  }
  get text(): Effect.Effect<string, HttpClientError.ResponseError> {
    return Effect.tryPromise({ try: () => this.textBody ??= this.source.body.text(), catch: (cause) => this.decodeError(cause) })
  }
  get json(): Effect.Effect<unknown, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({ try: () => text === "" ? null : JSON.parse(text) as unknown, catch: (cause) => this.decodeError(cause) }))
  }
  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({ try: () => UrlParams.fromInput(new URLSearchParams(text)), catch: (cause) => this.decodeError(cause) }))
  }
  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.ResponseError> {
    return Effect.tryPromise({ try: () => this.source.body.arrayBuffer(), catch: (cause) => this.decodeError(cause) })
  }
  get formData(): Effect.Effect<FormData, HttpClientError.ResponseError> {
    return Effect.tryPromise({ try: () => this.source.body.formData() as Promise<FormData>, catch: (cause) => this.decodeError(cause) })
  }
  toJSON() {
    return HttpIncomingMessage.inspect(this, {
      _id: "@effect/platform/HttpClientResponse",
      request: this.request.toJSON(),
      status: this.status
    })
  }
}

const ignore = () => {}

/** `sent` in a client span with the method, the server, the URL without its query (it may hold a key) and the status. */
const lightSpan = (
  sent: Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.RequestError>,
  method: string,
  target: Target
) => {
  const query = target.path.search(/[?#]/)
  return Effect.withSpan(
    Effect.tap(sent, (response) => Effect.annotateCurrentSpan("http.response.status_code", response.status)),
    `http.client ${method}`,
    {
      kind: "client",
      captureStackTrace: false,
      attributes: {
        "http.request.method": method,
        "server.address": target.origin,
        "url.full": target.origin + (query < 0 ? target.path : target.path.slice(0, query))
      }
    }
  )
}

/**
 * The lean client over `dispatcher`; requests it does not take go to the
 * platform's undici client over the same dispatcher (see the module comment).
 */
export const make = (dispatcher: Dispatcher): HttpClient.HttpClient => {
  const platform = NodeHttpClient.makeUndici(dispatcher)
  const platformScoped = HttpClient.withScope(platform)
  const targets = new Map<string, Target>()

  const targetOf = (request: HttpClientRequest.HttpClientRequest): Target | undefined => {
    const plain = request.urlParams.length === 0 && Option.isNone(request.hash)
    const known = plain ? targets.get(request.url) : undefined
    if (known !== undefined) return known
    const url = UrlParams.makeUrl(request.url, request.urlParams, request.hash)
    if (url._tag === "Left") return undefined
    const target = { origin: url.right.origin, path: url.right.pathname + url.right.search + url.right.hash }
    if (plain) {
      if (targets.size >= targetCacheSize) targets.clear()
      targets.set(request.url, target)
    }
    return target
  }

  /**
   * `request` on undici, aborted when `scope` closes, and, when
   * `abortOnInterrupt`, when the caller is interrupted before the answer (an
   * `executeInScope` caller closes the scope itself then: no interruption
   * handler, ~3 Effect ops, per request).
   */
  const send = (
    request: HttpClientRequest.HttpClientRequest,
    target: Target,
    body: Uint8Array | string | null,
    scope: Scope.Scope,
    abortOnInterrupt: boolean
  ) => {
    const signal = new AbortSignalLite()
    const sent = Effect.async<HttpClientResponse.HttpClientResponse, HttpClientError.RequestError>((resume) => {
      dispatcher.request({
        method: request.method as Dispatcher.HttpMethod,
        headers: request.headers,
        origin: target.origin,
        path: target.path,
        body,
        signal,
        // Timeouts are the caller's (the adapters' deadlines), as with the platform client.
        headersTimeout: 60 * 60 * 1000,
        bodyTimeout: 0
      }, (error, data) => {
        resume(
          error === null
            ? Effect.succeed(new UndiciResponse(request, data))
            : Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause: error }))
        )
      })
      return abortOnInterrupt ? Effect.sync(() => signal.abort()) : undefined
    })
    return Effect.zipRight(Scope.addFinalizer(scope, Effect.sync(() => signal.abort())), sent)
  }

  /**
   * The platform's client aborting as this one does: when `scope` closes, or
   * when the caller is interrupted before the answer (a scope of its own,
   * within `scope`, closed then).
   */
  const viaPlatform = (request: HttpClientRequest.HttpClientRequest, scope: Scope.Scope) =>
    Effect.flatMap(Scope.fork(scope, ExecutionStrategy.sequential), (own) =>
      Effect.onInterrupt(
        Effect.provideService(platformScoped.execute(request), Scope.Scope, own),
        () => Scope.close(own, Exit.void)
      ))

  /** `request` aborted when `scope` closes (and see `send`); `fiber` is the caller's. */
  const sendIn = (
    request: HttpClientRequest.HttpClientRequest,
    scope: Scope.Scope,
    fiber: Fiber.RuntimeFiber<unknown, unknown>,
    abortOnInterrupt: boolean
  ): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> => {
    const body = request.body._tag === "Empty"
      ? null
      : request.body._tag === "Uint8Array" || request.body._tag === "Raw"
      ? request.body.body as Uint8Array | string
      : undefined
    const traced = fiber.getFiberRef(FiberRef.currentTracerEnabled)
    const light = traced && !fiber.getFiberRef(HttpClient.currentTracerPropagation)
    const target = body === undefined || (traced && !light) ? undefined : targetOf(request)
    if (target === undefined) return viaPlatform(request, scope)
    const sent = send(request, target, body!, scope, abortOnInterrupt)
    return light ? lightSpan(sent, request.method, target) : sent
  }

  const inScope: ExecuteInScope = (request, scope) => Effect.withFiberRuntime((fiber) => sendIn(request, scope, fiber, false))

  const client = HttpClient.makeWith<HttpClientError.HttpClientError, never, HttpClientError.HttpClientError, never>(
    (effect) =>
      Effect.flatMap(effect, (request) =>
        Effect.withFiberRuntime<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>((fiber) => {
          const scope = Context.getOption(fiber.currentContext, Scope.Scope)
          return Option.isNone(scope) ? platform.execute(request) : sendIn(request, scope.value, fiber, true)
        })),
    Effect.succeed
  )
  return Object.assign(client, { [executeInScope]: inScope })
}
