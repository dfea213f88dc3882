/**
 * `POST /v1/chat/completions`: decode, call `Gateway.complete` or
 * `Gateway.stream`, answer in the OpenAI shape (JSON or SSE) with the
 * `x-modelgate-*` headers. Kept lean: one body read, one Schema decode, one
 * `JSON.stringify` per answer or chunk.
 */
import type { HttpServerRequest } from "@effect/platform"
import { HttpServerResponse } from "@effect/platform"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import { type AnswerMeta, Gateway, type GatewayError, type StreamAnswer } from "@modelgate/core/Gateway"
import { GatewayConfig } from "@modelgate/core/GatewayConfig"
import { ChatRequest } from "@modelgate/domain/Chat"
import { Cause, Chunk, Effect, Either, Stream } from "effect"
import * as Http from "node:http"
import { type ApiError, fromGatewayError, invalidRequest, toResponse } from "./ApiError.js"
import { decoder, readJson } from "./Body.js"
import type * as RequestId from "./RequestId.js"
import { optionsFrom, requirementsFrom, withImplied } from "./Requirements.js"
import * as Sse from "./Sse.js"

const decodeChat = decoder(ChatRequest)
const encoder = new TextEncoder()
const DONE = encoder.encode("data: [DONE]\n\n")

/** A USD amount without exponent notation (`0.0000015`). */
export const formatUsd = (usd: number): string => {
  const fixed = usd.toFixed(12)
  return fixed.includes(".") ? fixed.replace(/0+$/, "").replace(/\.$/, "") : fixed
}

/** The `x-modelgate-*` and `x-request-id` headers of an answer. */
export const metaHeaders = (meta: AnswerMeta): Record<string, string> => {
  const headers: Record<string, string> = {
    "x-request-id": meta.requestId,
    "x-modelgate-model": meta.model,
    "x-modelgate-provider": meta.provider,
    "x-modelgate-cache": meta.cacheHit ? "hit" : "miss",
    "x-modelgate-failovers": String(meta.failovers)
  }
  if (meta.costUsd !== undefined) headers["x-modelgate-cost-usd"] = formatUsd(meta.costUsd)
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

/** The Node response of a request served by Node's http server, if it is one. */
const nodeResponse = (request: HttpServerRequest.HttpServerRequest): Http.ServerResponse | undefined => {
  if (request.headers["upgrade"] !== undefined) return undefined
  const response: unknown = NodeHttpServerRequest.toServerResponse(request)
  return response instanceof Http.ServerResponse && !response.headersSent ? response : undefined
}

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** The handler of `POST /v1/chat/completions`; `ids` gives each request its id. */
export const make = (ids: RequestId.RequestIds) => Effect.gen(function* () {
  const gateway = yield* Gateway
  const maxBytes = (yield* (yield* GatewayConfig).get).server.maxBodyBytes

  const answer = (
    body: unknown,
    http: HttpServerRequest.HttpServerRequest,
    requestId: string
  ): Effect.Effect<HttpServerResponse.HttpServerResponse, ApiError> => {
    const headers = http.headers
    if (!isObject(body)) return Effect.fail(invalidRequest("request body must be a JSON object", "invalid_request"))
    const decoded = Either.all([decodeChat(body), requirementsFrom(body["modelgate"], headers), optionsFrom(requestId, headers)])
    if (Either.isLeft(decoded)) return Effect.fail(decoded.left)
    const [request, stated, options] = decoded.right
    const requirements = withImplied(request, stated)
    const toApi = (e: GatewayError) => fromGatewayError(e)
    if (request.stream === true) {
      const includeUsage = request.stream_options?.include_usage === true
      return Effect.flatMap(Effect.mapError(gateway.stream(request, requirements, options), toApi), (streamed) => {
        const headers = { ...metaHeaders(streamed.meta), "cache-control": "no-cache" }
        const res = nodeResponse(http)
        if (res === undefined) {
          return Effect.succeed(HttpServerResponse.stream(sseBody(streamed, includeUsage), { contentType: "text/event-stream", headers }))
        }
        // Written here, in the handler's fiber; the platform skips a response that is already ended.
        const all = { ...headers, "content-type": "text/event-stream" }
        return Effect.as(Sse.write(res, all, streamed, includeUsage), HttpServerResponse.empty({ status: 200, headers: all }))
      })
    }
    return Effect.map(Effect.mapError(gateway.complete(request, requirements, options), toApi), ({ meta, response }) =>
      HttpServerResponse.text(JSON.stringify(response), { contentType: "application/json", headers: metaHeaders(meta) }))
  }

  return (request: HttpServerRequest.HttpServerRequest): Effect.Effect<HttpServerResponse.HttpServerResponse> => {
    const requestId = ids(request.headers["x-request-id"])
    return readJson(request, maxBytes).pipe(
      Effect.flatMap((body) => answer(body, request, requestId)),
      Effect.catchAll((error) =>
        Effect.succeed(toResponse(error, error.status === 413 ? { "x-request-id": requestId, connection: "close" } : { "x-request-id": requestId }))
      )
    )
  }
})
