/**
 * `POST /v1/chat/completions`: decode, call `Gateway.complete` or
 * `Gateway.stream`, answer in the OpenAI shape (JSON or SSE) with the
 * `x-modelgate-*` headers. Kept lean: one body read, one Schema decode, one
 * `JSON.stringify` per answer or chunk.
 */
import type { Headers, HttpServerRequest } from "@effect/platform"
import { HttpServerResponse } from "@effect/platform"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import { type AnswerMeta, type FailureMeta, Gateway, type GatewayError, type RequestOptions, type StreamAnswer } from "@modelgate/core/Gateway"
import { GatewayConfig } from "@modelgate/core/GatewayConfig"
import type { VirtualKey } from "@modelgate/core/GatewayConfigSchema"
import { ChatRequest, type ChatResponse } from "@modelgate/domain/Chat"
import type { TaskRequirements } from "@modelgate/domain/Requirements"
import { Cause, Chunk, Effect, Either, Option, type Scope, Stream } from "effect"
import type * as Http from "node:http"
import { type ApiError, fromGatewayError, internal, invalidRequest, toResponse } from "./ApiError.js"
import { collect, decoder, drain, nestedDeeper, nestedTooDeep, parseJson, readFrom, refusedUnread } from "./Body.js"
import { decodeCommon } from "./ChatFast.js"
import * as ChatSpan from "./ChatSpan.js"
import { nodeHeaders, nodeResponse, sendError, sendText, sent, writeError, writeText } from "./NodeWrite.js"
import type * as RequestId from "./RequestId.js"
import { boundBy, optionsFrom, requirementsFrom, withImplied } from "./Requirements.js"
import * as Sse from "./Sse.js"
import * as SseKeepAlive from "./SseKeepAlive.js"
import { costHeader, formatUsd } from "./Usd.js"

const decodeFull = decoder(ChatRequest)
/**
 * The common shapes without the Schema interpreter; the rest (and every error)
 * through the Schema. Top-level fields the Schema does not model are kept as
 * they are (`extraParameters`; never `modelgate`, which is ours).
 */
export const decodeChat = (body: Record<string, unknown>): Either.Either<ChatRequest, ApiError> => {
  const common = decodeCommon(body)
  if (common !== undefined) return Either.right(common)
  // The common shapes are shallow; anything else is walked by the Schema, its errors and the providers.
  if (nestedDeeper(body)) return Either.left(nestedTooDeep())
  return Either.map(decodeFull(body), (request) => {
    let out: Record<string, unknown> | undefined
    for (const key of Object.keys(body)) {
      // `__proto__` (an own key of parsed JSON) would set the request's prototype: never a parameter.
      if (key === "modelgate" || key === "__proto__" || Object.hasOwn(ChatRequest.fields, key)) continue
      out ??= { ...request }
      out[key] = body[key]
    }
    return out === undefined ? request : (out as ChatRequest)
  })
}
const encoder = new TextEncoder()
const DONE = encoder.encode("data: [DONE]\n\n")

export { formatUsd } from "./Usd.js"

/** Printable ASCII: what a header carries as it is, for every client. */
const printable = /^[\x20-\x7e]*$/

/**
 * A registry id as a header value: as it is when printable ASCII, else
 * percent-encoded (`encodeURIComponent`): a line feed or a character past
 * U+00FF cannot go in a header, and the answer must still reach the client.
 */
const headerId = (id: string): string => (printable.test(id) ? id : encodeURIComponent(id))

/** The `x-modelgate-*` and `x-request-id` headers of an answer. */
export const metaHeaders = (meta: AnswerMeta): Record<string, string> => {
  const headers: Record<string, string> = {
    "x-request-id": meta.requestId,
    "x-modelgate-model": headerId(meta.model),
    "x-modelgate-provider": meta.provider,
    "x-modelgate-cache": meta.cacheHit ? "hit" : "miss",
    "x-modelgate-failovers": String(meta.failovers)
  }
  if (meta.costUsd !== undefined) headers[costHeader] = formatUsd(meta.costUsd)
  return headers
}

/** One SSE `data:` event carrying an OpenAI error object. */
export const errorEvent = (error: ApiError): Uint8Array => encoder.encode(Sse.errorFrame(error))

/**
 * The SSE body of a streamed answer as a platform stream (for servers other
 * than Node's; on Node the handler writes with `Sse.write`): every chunk as
 * `data: {...}`, then `data: [DONE]`. The final usage chunk (`choices: []`) is
 * dropped unless the client asked for it. A failure after the start ends the
 * stream with an error event and no `[DONE]`.
 */
export const sseBody = (answer: StreamAnswer, includeUsage: boolean): Stream.Stream<Uint8Array> => {
  return answer.chunks.pipe(
    Stream.mapChunks((chunks) => {
      const text = Sse.frames(chunks, includeUsage)
      return text === "" ? Chunk.empty() : Chunk.of(encoder.encode(text))
    }),
    Stream.concat(Stream.succeed(DONE)),
    Stream.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause)
        ? Stream.fromEffect(Effect.interrupt)
        : Stream.fromEffect(Effect.map(Sse.streamError(answer, cause), errorEvent))
    )
  )
}

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** A decoded chat call. */
interface Call {
  readonly request: ChatRequest
  readonly requirements: TaskRequirements
  readonly options: RequestOptions
  /** Traced (its server span, ChatSpan.ts), in which trace; undefined: not traced. */
  readonly traced: ChatSpan.Traced | undefined
}

/**
 * Body bytes to a call, synchronously: JSON, the ChatRequest Schema,
 * requirements and options. The virtual key the request came with, if any,
 * binds it: its `agentType` replaces the one the request states (a team's
 * spending is accounted to the team, whatever it says), its `models` are the
 * only ones that may serve.
 */
const parse = (
  bytes: Buffer,
  headers: Headers.Headers,
  requestId: string,
  key: VirtualKey | undefined,
  letIn: (headers: Headers.Headers) => boolean,
  sampling: ChatSpan.Sampling | undefined,
  closing: Effect.Effect<void> | undefined
): Either.Either<Call, ApiError> => {
  const json = parseJson(bytes)
  if (Either.isLeft(json)) return Either.left(json.left)
  const body = json.right
  if (!isObject(body)) return Either.left(invalidRequest("request body must be a JSON object", "invalid_request"))
  const request = decodeChat(body)
  if (Either.isLeft(request)) return Either.left(request.left)
  const stated = requirementsFrom(body["modelgate"], headers)
  if (Either.isLeft(stated)) return Either.left(stated.left)
  const options = optionsFrom(requestId, headers, closing, key === undefined ? undefined : () => !letIn(headers))
  if (Either.isLeft(options)) return Either.left(options.left)
  const requirements = key === undefined ? stated.right : boundBy(stated.right, key)
  return Either.right({
    request: request.right,
    requirements: withImplied(request.right, requirements),
    options: options.right,
    traced: ChatSpan.decide(sampling, headers)
  })
}

/**
 * The headers of an error answer: its `x-request-id` always; once the request
 * tried a model (`Gateway.failureMeta`), the `x-modelgate-*` headers of a
 * success as well, naming the last model tried, the failovers made and what
 * the request was charged (`0`, or what its failed attempts' providers billed).
 */
const failureHeaders = (error: ApiError, requestId: string, meta?: FailureMeta): Record<string, string> => {
  const own = ownFailure(meta, requestId)
  const headers: Record<string, string> = own === undefined ? { "x-request-id": requestId } : metaHeaders({ ...own, cacheHit: false })
  if (error.status === 413) headers["connection"] = "close"
  return headers
}

/** `meta` when it is the request `requestId`'s: the gateway's id of a request is the server's (`options.requestId`), anything else is not its. */
const ownFailure = (meta: FailureMeta | undefined, requestId: string): FailureMeta | undefined =>
  meta !== undefined && meta.requestId === requestId ? meta : undefined

/** How a request served below any fiber (`ChatHandler.serveNode`) reports back to the server. */
export interface NodeHooks {
  /**
   * Run the effect that answers a valid request in a fiber of its own; the
   * request ends when that fiber has ended and its response has finished or
   * closed (the fiber may end as soon as its answer is handed to `res`).
   */
  readonly fork: (answer: Effect.Effect<HttpServerResponse.HttpServerResponse>) => void
  /** A refusal answered without a fiber is written (handed to the socket): the request ends. */
  readonly settle: () => void
}

/** The handler of `POST /v1/chat/completions`. */
export interface ChatHandler {
  /** On any server: the answer as an `HttpServerResponse` (a stream on Node is written directly, in this fiber). */
  readonly respond: (request: HttpServerRequest.HttpServerRequest) => Effect.Effect<HttpServerResponse.HttpServerResponse>
  /**
   * On Node: read Node's request `req` and write the answer straight to `res`
   * (JSON or SSE, or the error), completing when it is written, with a
   * stand-in response the platform skips. A defect is logged and answered
   * with a 500; only interruption fails.
   */
  readonly writeTo: (req: Http.IncomingMessage, res: Http.ServerResponse) => Effect.Effect<HttpServerResponse.HttpServerResponse>
  /**
   * On Node, outside any fiber (`HttpApp.serve`): read and check the body in
   * plain JS, then answer a refusal at once (413, 400: no fiber; `settle`
   * once written) or `fork` the effect that answers the request (as
   * `writeTo`, from the decoded call on). Returns `stop`, which stops reading
   * the body (the connection closed first).
   */
  readonly serveNode: (req: Http.IncomingMessage, res: Http.ServerResponse, hooks: NodeHooks) => () => void
}

/**
 * The handler of `POST /v1/chat/completions`; `ids` gives each request its
 * id, `virtualKeyOf` the virtual key a request came with (its team's binding), if any,
 * `closing` the server's shutdown (it ends the requests waiting in the queue: `RequestOptions.closing`),
 * `letIn` whether a request with these headers is let in now (after a reload; `false` ends the wait in the
 * queue of a request that came with a virtual key: `RequestOptions.keyRevoked`).
 */
export const make = (
  ids: RequestId.RequestIds,
  virtualKeyOf: (headers: Headers.Headers) => VirtualKey | undefined = () => undefined,
  closing?: Effect.Effect<void>,
  letIn: (headers: Headers.Headers) => boolean = () => true
): Effect.Effect<ChatHandler, never, Gateway | GatewayConfig | Scope.Scope> => Effect.gen(function* () {
  const gateway = yield* Gateway
  // A failed request's answer: its error and headers (what it did, when it tried a model).
  const failed = (e: ApiError | GatewayError, requestId: string): { readonly error: ApiError; readonly headers: Record<string, string> } => {
    if (e._tag === "ApiError") return { error: e, headers: failureHeaders(e, requestId) }
    const error = fromGatewayError(e)
    return { error, headers: failureHeaders(error, requestId, gateway.failureMeta?.(e)) }
  }
  const server = (yield* (yield* GatewayConfig).get).server
  const maxBytes = server.maxBodyBytes
  // Read once at start, as the rest of `server`.
  const keepAlive = yield* SseKeepAlive.make(server.sseKeepAliveMs)
  // Which calls get a server span (ChatSpan.ts): read once, so a server without a tracer pays nothing per request.
  const sampling = yield* ChatSpan.callSampling

  // The sync work of a request (JSON, Schema decode, requirements) runs in the body read's callback, and the
  // answer is one write: few Effect steps on the hot route.
  // Node's message and its headers: on both routes the body is read from Node's request itself.
  const read = (source: Http.IncomingMessage, headers: Headers.Headers, requestId: string) =>
    readFrom(source, maxBytes, (bytes) => parse(bytes, headers, requestId, virtualKeyOf(headers), letIn, sampling, closing))

  // Both routes: answer a decoded call with a stream (its headers begun, the SSE body not) or a complete answer.
  const answerCall = <A, E>(
    { options, request, requirements, traced }: Call,
    onStream: (streamed: StreamAnswer, headers: Record<string, string>, includeUsage: boolean) => Effect.Effect<A, E>,
    onComplete: (answer: { readonly response: ChatResponse; readonly meta: AnswerMeta }) => Effect.Effect<A, E>
  ) =>
    request.stream === true
      ? Effect.flatMap(gateway.stream(request, requirements, options), (streamed) => {
        const headers = metaHeaders(streamed.meta)
        headers["cache-control"] = "no-cache"
        // nginx buffers an answer unless told not to: the client would get the events late, or all at once.
        headers["x-accel-buffering"] = "no"
        // A stream's cost is known at its end: announced here, sent as a trailer after the last event.
        if (Sse.trailsCost(streamed)) headers.trailer = costHeader
        const answer = onStream(streamed, headers, request.stream_options?.include_usage === true)
        return traced !== undefined ? Effect.zipRight(ChatSpan.streaming(streamed), answer) : answer
      })
      : Effect.flatMap(
        gateway.complete(request, requirements, options),
        traced !== undefined ? (answer) => Effect.zipRight(ChatSpan.completed(answer.meta, answer.response), onComplete(answer)) : onComplete
      )

  // A written stream's end, in its span: its settled cost and usage, and a break (its error event) fails the span.
  const streamEnd = (call: Call, streamed: StreamAnswer, written: Effect.Effect<ApiError | undefined>) => {
    if (call.traced === undefined) return Effect.as(written, sent(200))
    return Effect.flatMap(written, (broke) =>
      Effect.zipRight(
        ChatSpan.streamed(streamed),
        broke === undefined
          ? Effect.succeed(sent(200))
          : Effect.zipRight(ChatSpan.broke(broke), Effect.fail(new ChatSpan.StreamBroke({ error: broke, answer: sent(200) })))
      ))
  }

  // On Node: the answer to a decoded call written to `res`. It completes when its last bytes are handed to the
  // socket, or (`handed`) as soon as they are given to `res`: the server then counts the request until
  // the response finishes or closes, and the fiber ends without waiting (no wake-up after the write).
  const writeCall = (res: Http.ServerResponse, call: Call, handed: boolean) =>
    answerCall(call, (streamed, headers, includeUsage) => {
      headers["content-type"] = "text/event-stream"
      return streamEnd(call, streamed, Sse.write(res, headers, streamed, includeUsage, handed, keepAlive))
    }, ({ meta, response }) => {
      const headers = metaHeaders(meta)
      headers["content-type"] = "application/json"
      if (!handed) return writeText(res, 200, headers, JSON.stringify(response))
      sendText(res, 200, headers, JSON.stringify(response))
      return Effect.succeed(sent(200))
    })

  // A call's answer in its server span while tracing (ChatSpan.ts), its failure annotated there.
  const inSpan = <A>(
    requestId: string,
    call: Call,
    answer: Effect.Effect<A, ApiError | GatewayError | ChatSpan.StreamBroke<A>>
  ): Effect.Effect<A, ApiError | GatewayError> =>
    call.traced !== undefined
      ? ChatSpan.traced(
        call.traced,
        call.request,
        call.requirements,
        requestId,
        Effect.tapError(answer, (e) =>
          e._tag === "StreamBroke"
            ? Effect.void
            : e._tag === "ApiError"
            ? ChatSpan.failed(e)
            : ChatSpan.failed(fromGatewayError(e), ownFailure(gateway.failureMeta?.(e), requestId)))
      )
      // Only a traced answer fails with `StreamBroke` (see `streamEnd`).
      : (answer as Effect.Effect<A, ApiError | GatewayError>)

  // A failure written to `res` (a defect logged and answered 500 without details); only interruption fails.
  const recover = (
    res: Http.ServerResponse,
    requestId: string,
    answer: Effect.Effect<HttpServerResponse.HttpServerResponse, ApiError | GatewayError>
  ): Effect.Effect<HttpServerResponse.HttpServerResponse> =>
    Effect.catchAllCause(answer, (cause) => {
      if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
      const failure = Cause.failureOption(cause)
      if (res.headersSent) {
        // Not expected (the SSE writer ends its own failures); end the answer rather than leave it open.
        if (!res.writableEnded) res.end()
        return Effect.as(Effect.logError("request failed after its answer started", cause), sent(res.statusCode))
      }
      if (Option.isSome(failure)) {
        const { error, headers } = failed(failure.value, requestId)
        return writeError(res, error, headers)
      }
      return Effect.zipRight(Effect.logError("request failed", cause), writeError(res, internal(), { "x-request-id": requestId }))
    })

  const writeTo = (req: Http.IncomingMessage, res: Http.ServerResponse) => {
    const headers = nodeHeaders(req)
    const requestId = ids(headers["x-request-id"])
    return recover(res, requestId, Effect.flatMap(read(req, headers, requestId), (call) => inSpan(requestId, call, writeCall(res, call, false))))
  }

  // The body is read and checked in the 'data' / 'end' listeners and the fiber starts with the decoded call:
  // no fiber suspended on the read (its steps and a scheduler hop on the critical path), and no fiber at all
  // for a refusal (~47 Effect steps and 2 fibers per 400 before).
  const serveNode = (req: Http.IncomingMessage, res: Http.ServerResponse, hooks: NodeHooks): () => void => {
    const headers = nodeHeaders(req)
    const requestId = ids(headers["x-request-id"])
    const refuse = (error: ApiError) => sendError(res, error, failureHeaders(error, requestId), hooks.settle)
    const declared = refusedUnread(req, maxBytes)
    // Answered once the body has arrived (see `drain`).
    if (declared !== undefined) return drain(req, () => refuse(declared))
    return collect(req, maxBytes, (bytes) => {
      let call: Either.Either<Call, ApiError>
      try {
        call = parse(bytes, headers, requestId, virtualKeyOf(headers), letIn, sampling, closing)
      } catch (defect) {
        // Not expected; outside a fiber a throw would reach the socket's stream: answered and logged as a defect.
        hooks.fork(recover(res, requestId, Effect.die(defect)))
        return
      }
      if (Either.isLeft(call)) refuse(call.left)
      else hooks.fork(recover(res, requestId, inSpan(requestId, call.right, writeCall(res, call.right, true))))
    }, refuse)
  }

  // Through the router (and for embedders): answers an outer middleware can still see and change; only
  // a stream on Node is written directly, in this fiber (see Sse.write).
  const respond = (http: HttpServerRequest.HttpServerRequest): Effect.Effect<HttpServerResponse.HttpServerResponse> => {
    const requestId = ids(http.headers["x-request-id"])
    const call = read(NodeHttpServerRequest.toIncomingMessage(http), http.headers, requestId)
    const answer = Effect.flatMap(call, (call) => inSpan(requestId, call, answerCall(call, (streamed, headers, includeUsage) => {
      const res = nodeResponse(http)
      if (res === undefined) {
        return Effect.succeed(HttpServerResponse.stream(sseBody(streamed, includeUsage), { contentType: "text/event-stream", headers }))
      }
      headers["content-type"] = "text/event-stream"
      return Effect.as(streamEnd(call, streamed, Sse.write(res, headers, streamed, includeUsage, false, keepAlive)), HttpServerResponse.empty({ status: 200, headers }))
    }, ({ meta, response }) =>
      // `Effect.succeed` here costs what `Effect.map`'s `sync` did: the same steps.
      Effect.succeed(HttpServerResponse.text(JSON.stringify(response), { contentType: "application/json", headers: metaHeaders(meta) })))))
    return Effect.catchAll(answer, (e) => {
      const { error, headers } = failed(e, requestId)
      return Effect.succeed(toResponse(error, headers))
    })
  }

  return { respond, serveNode, writeTo }
})
