/**
 * The OpenAI Chat Completions adapter: `POST {baseUrl}/chat/completions`
 * (baseUrl includes `/v1`), Bearer auth, SSE streaming with usage always
 * requested upstream, `GET {baseUrl}/models` as the probe.
 *
 * `chat` and `stream` are untraced (a plain function over `Effect.flatMap`): it is on the
 * request path, see bench/README.md; the gateway keeps one span per request.
 */
import type { ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import type { CallContext, ChatResult, Provider, ProviderKey, StreamResult } from "@modelgate/core/Provider"
import type { ModelMetadata } from "@modelgate/domain/Model"
import type { ProviderError } from "@modelgate/domain/ProviderError"
import { type HttpClient, HttpClientRequest } from "@effect/platform"
import { Effect, Either, Redacted, Schema, type Scope } from "effect"
import {
  type CallInfo,
  callInfoOf,
  cannotServe,
  decodeJson,
  decodeJsonEither,
  effortValue,
  estimatedUsage,
  excerpt,
  makeProviderHttp,
  malformed,
  missingKey,
  notServed,
  parseEventJson,
  stopsOver,
  type ProviderHttp,
  type TextResponse,
  timedProbe,
  toStream,
  trimBase
} from "./internal/index.js"
import { classify, classifyStreamError, errorOfBody, notOnAccount, rateLimitInfo, requestId } from "./OpenAi/errors.js"
import { plainResponse } from "./OpenAi/shape.js"
import { pullStream } from "./OpenAi/stream.js"
import {
  audioOutput,
  jsonNeverMentioned,
  legacyFunctions,
  normaliseResponse,
  otherServiceTier,
  requestBody,
  toUsage,
  unservedOpenAiEffort,
  WireResponse
} from "./OpenAi/wire.js"

/** The provider id this adapter serves. */
export const providerId = "openai"

const ModelList = Schema.Struct({ data: Schema.Array(Schema.Struct({ id: Schema.String })) })

/**
 * A 200 body as `WireResponse`: the everyday response read in plain JS
 * (OpenAi/shape.ts; the Schema decode was ~25 us per request in the serve
 * profile), anything else (not JSON included) decoded by the Schema as
 * before, with the same errors.
 */
const decodeResponse = (body: string, base: Parameters<typeof decodeJsonEither>[2]) => {
  const plain = plainResponse(parseEventJson(body))
  return plain !== undefined ? Either.right(plain) : decodeJsonEither(WireResponse, body, base)
}

const withKey = (request: HttpClientRequest.HttpClientRequest, key: ProviderKey) =>
  request.pipe(HttpClientRequest.bearerToken(Redacted.value(key.value)))

/**
 * The upstream request of a call (streamed or not), built from the config the
 * call reads. The JSON body is encoded with `Buffer.from`: the bytes and
 * headers `bodyUnsafeJson` gives (its `TextEncoder.encode` was ~0.8 us per
 * request, this ~0.1 us).
 */
export const chatRequest = (ctx: CallContext, key: ProviderKey, stream: boolean) => (config: ProviderConfig): HttpClientRequest.HttpClientRequest =>
  withKey(
    HttpClientRequest.post(`${trimBase(config.baseUrl)}/chat/completions`).pipe(
      HttpClientRequest.setHeader("accept", stream ? "text/event-stream" : "application/json"),
      HttpClientRequest.bodyUint8Array(
        Buffer.from(JSON.stringify(requestBody(ctx.request, ctx.model.providerModel, stream, ctx.model.capabilities.includes("reasoning"), effortValue(ctx.request, ctx.model)))),
        "application/json"
      )
    ),
    key
  )

/**
 * Build the OpenAI adapter. `getConfig` is read on every call, so a config
 * reload (base URL, timeout, limits) applies to the next request. Its deadline
 * watchdogs live in the current `Scope` (the layer that builds it).
 */
export const make = (getConfig: Effect.Effect<ProviderConfig>): Effect.Effect<Provider, never, HttpClient.HttpClient | Scope.Scope> =>
  Effect.gen(function*() {
    const http: ProviderHttp = yield* makeProviderHttp({
      provider: providerId,
      getConfig,
      requestId,
      rateLimit: rateLimitInfo,
      classify
    })

    /** Decode and normalise an answer: plain JS, one Effect at the end. */
    const toResult = (ctx: CallContext, info: CallInfo) => (res: TextResponse): Effect.Effect<ChatResult, ProviderError> => {
      const base = { provider: providerId, info, meta: res }
      const decoded = decodeResponse(res.body, base)
      if (decoded._tag === "Left") {
        // A 200 `{"error": {...}}` (some proxies) is the error it names, as the same event mid-stream.
        const error = errorOfBody(res.body)
        if (error === undefined) return Effect.fail(decoded.left)
        const fields = { provider: providerId, model: info.model, status: res.status, requestId: res.requestId, rateLimit: res.rateLimit }
        return Effect.fail(classifyStreamError(error, fields, info.secrets))
      }
      const wire = decoded.right
      const finish = (nowSeconds: number): Effect.Effect<ChatResult, ProviderError> => {
        const usage = () => estimatedUsage(ctx.request, wire.choices.map((c) => c.message.content ?? "").join(""))
        const normalised = normaliseResponse(wire, usage, undefined, nowSeconds)
        if (normalised._tag === "Invalid") {
          // A whole answer that reported usage is billed: the error carries it.
          const billed = wire.usage !== undefined && wire.usage !== null ? toUsage(wire.usage) : undefined
          return Effect.fail(malformed(base, `${normalised.reason}; body: ${excerpt(res.body, info.secrets, 200)}`, billed))
        }
        return Effect.succeed<ChatResult>({ response: normalised.value, rateLimit: res.rateLimit, providerRequestId: res.requestId, retried: res.retried })
      }
      // An answer without `created` (some OpenAI-compatible servers) is dated by the clock; OpenAI's need no step.
      return wire.created !== undefined ? finish(0) : Effect.clockWith((clock) => finish(Math.floor(clock.unsafeCurrentTimeMillis() / 1000)))
    }

    const chat = (ctx: CallContext): Effect.Effect<ChatResult, ProviderError> => {
      const key = ctx.key
      if (key === undefined) return Effect.fail(missingKey(providerId, ctx.model))
      const info = callInfoOf(ctx.model, key, ctx)
      return http.call(info, chatRequest(ctx, key, false), toResult(ctx, info))
    }

    const stream = (ctx: CallContext): Effect.Effect<StreamResult, ProviderError> => {
      const key = ctx.key
      if (key === undefined) return Effect.fail(missingKey(providerId, ctx.model))
      const info = callInfoOf(ctx.model, key, ctx)
      return http.stream(info, chatRequest(ctx, key, true), (res): Effect.Effect<StreamResult> => {
        const open = () => pullStream(providerId, info, ctx.request, res, ctx.model.providerModel)
        return Effect.succeed({ chunks: toStream(open), open, rateLimit: res.rateLimit, providerRequestId: res.requestId, retried: res.retried })
      })
    }

    const probe = Effect.fn("OpenAi.probe")(function*(model: ModelMetadata, key: ProviderKey | undefined) {
      const info = callInfoOf(model, key)
      return yield* timedProbe(Effect.gen(function*() {
        if (key === undefined) return yield* missingKey(providerId, model)
        const request = (config: ProviderConfig) => withKey(HttpClientRequest.get(`${trimBase(config.baseUrl)}/models`), key)
        return yield* http.call(info, request, (res) =>
          Effect.flatMap(decodeJson(ModelList, res.body, { provider: providerId, info, meta: res }), (list) =>
            list.data.some((m) => m.id === model.providerModel)
              ? Effect.void
              : Effect.fail(
                // As a chat with it would be answered (404 model_not_found): taken out at once, as `classify` says.
                notServed({
                  provider: providerId,
                  model: model.id,
                  status: res.status,
                  requestId: res.requestId,
                  detail: `model ${model.providerModel} is not in its model list`,
                  rateLimit: undefined
                }, notOnAccount)
              )), { retry: false })
      }))
    })

    const refusals = cannotServe(providerId, otherServiceTier, audioOutput, legacyFunctions, unservedOpenAiEffort, stopsOver(4), jsonNeverMentioned)
    return { id: providerId, requiresKey: true, chat, stream, probe, cannotServe: refusals } satisfies Provider satisfies Provider
  })
