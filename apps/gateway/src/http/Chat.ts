/**
 * `POST /v1/chat/completions`: decode, call `Gateway.complete` or
 * `Gateway.stream`, answer in the OpenAI shape (JSON or SSE) with the
 * `x-modelgate-*` headers. Kept lean: one body read, one Schema decode, one
 * `JSON.stringify` per answer or chunk.
 */
import type { HttpServerRequest } from "@effect/platform"
import { HttpServerResponse } from "@effect/platform"
import { type AnswerMeta, Gateway, type GatewayError, type StreamAnswer } from "@modelgate/core/Gateway"
import { GatewayConfig } from "@modelgate/core/GatewayConfig"
import { ChatRequest } from "@modelgate/domain/Chat"
import { Cause, Chunk, Effect, Either, Stream } from "effect"
import { type ApiError, errorBody, fromGatewayError, internal, invalidRequest, toResponse } from "./ApiError.js"
import { decoder, readJson } from "./Body.js"
import type * as RequestId from "./RequestId.js"
import { optionsFrom, requirementsFrom, withImplied } from "./Requirements.js"

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
export const errorEvent = (error: ApiError): Uint8Array => encoder.encode(`data: ${JSON.stringify(errorBody(error))}\n\n`)

/**
 * The SSE body of a streamed answer: every chunk as `data: {...}`, then
 * `data: [DONE]`. The final usage chunk (`choices: []`) is dropped unless the
 * client asked for it. A failure after the start ends the stream with an error
 * event and no `[DONE]`.
 */
export const sseBody = (answer: StreamAnswer, includeUsage: boolean): Stream.Stream<Uint8Array> => {
  return answer.chunks.pipe(
    // One pass per chunk of chunks: the usage filter and the encoding, no Schema.
    Stream.mapChunks((chunks) => {
      let text = ""
      for (const chunk of chunks) {
        if (includeUsage || chunk.choices.length > 0 || chunk.usage == null) text += `data: ${JSON.stringify(chunk)}\n\n`
      }
      return text === "" ? Chunk.empty() : Chunk.of(encoder.encode(text))
    }),
    Stream.concat(Stream.succeed(DONE)),
    Stream.catchAllCause((cause) => {
      if (Cause.isInterruptedOnly(cause)) return Stream.fromEffect(Effect.interrupt)
      const failure = Cause.failureOption(cause)
      const error = failure._tag === "Some" ? fromGatewayError(failure.value) : internal(answer.meta.requestId)
      return Stream.fromEffect(
        Effect.as(
          Effect.logWarning("stream failed after it started").pipe(
            Effect.annotateLogs({ requestId: answer.meta.requestId, model: answer.meta.model, error: error.message }),
            Effect.annotateLogs(failure._tag === "Some" ? {} : { cause: Cause.pretty(cause) })
          ),
          errorEvent(error)
        )
      )
    })
  )
}

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** The handler of `POST /v1/chat/completions`; `ids` gives each request its id. */
export const make = (ids: RequestId.RequestIds) => Effect.gen(function* () {
  const gateway = yield* Gateway
  const maxBytes = (yield* (yield* GatewayConfig).get).server.maxBodyBytes

  const answer = (
    body: unknown,
    headers: Readonly<Record<string, string | undefined>>,
    requestId: string
  ): Effect.Effect<HttpServerResponse.HttpServerResponse, ApiError> => {
    if (!isObject(body)) return Effect.fail(invalidRequest("request body must be a JSON object", "invalid_request"))
    const decoded = Either.all([decodeChat(body), requirementsFrom(body["modelgate"], headers), optionsFrom(requestId, headers)])
    if (Either.isLeft(decoded)) return Effect.fail(decoded.left)
    const [request, stated, options] = decoded.right
    const requirements = withImplied(request, stated)
    const toApi = (e: GatewayError) => fromGatewayError(e)
    if (request.stream === true) {
      const includeUsage = request.stream_options?.include_usage === true
      return Effect.map(Effect.mapError(gateway.stream(request, requirements, options), toApi), (streamed) =>
        HttpServerResponse.stream(sseBody(streamed, includeUsage), {
          contentType: "text/event-stream",
          headers: { ...metaHeaders(streamed.meta), "cache-control": "no-cache" }
        }))
    }
    return Effect.map(Effect.mapError(gateway.complete(request, requirements, options), toApi), ({ meta, response }) =>
      HttpServerResponse.text(JSON.stringify(response), { contentType: "application/json", headers: metaHeaders(meta) }))
  }

  return (request: HttpServerRequest.HttpServerRequest): Effect.Effect<HttpServerResponse.HttpServerResponse> => {
    const requestId = ids(request.headers["x-request-id"])
    return readJson(request, maxBytes).pipe(
      Effect.flatMap((body) => answer(body, request.headers, requestId)),
      Effect.catchAll((error) =>
        Effect.succeed(toResponse(error, error.status === 413 ? { "x-request-id": requestId, connection: "close" } : { "x-request-id": requestId }))
      )
    )
  }
})
