/**
 * The Anthropic Messages adapter: `POST {baseUrl}/v1/messages` with
 * `x-api-key` and `anthropic-version: 2023-06-01`, answers and named SSE
 * events normalised to the OpenAI shape, errors classified once.
 */
import { HttpClientRequest } from "@effect/platform"
import type * as HttpClient from "@effect/platform/HttpClient"
import type { ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import type { CallContext, ChatResult, Provider, ProviderKey, StreamResult } from "@modelgate/core/Provider"
import type { ModelMetadata } from "@modelgate/domain/Model"
import { MalformedResponse, type ProviderError } from "@modelgate/domain/ProviderError"
import { Clock, Effect, Either, Redacted, type Scope } from "effect"
import { classifyAnthropic, parseRateLimit, requestIdOf } from "./Anthropic/Errors.js"
import {
  fileMediaTypes,
  imageMediaTypes,
  maxImageBase64,
  maxTokensOf,
  toAnthropicRequest,
  tooManyBreakpoints,
  unschemedJson,
  unservedAnthropicEffort,
  whitespaceStop
} from "./Anthropic/Request.js"
import { openJsonObject } from "./Anthropic/outputSchema.js"
import { AnthropicResponse, fromAnthropicResponse, usageOf } from "./Anthropic/Response.js"
import { plainResponse } from "./Anthropic/shape.js"
import { AnthropicStreamTranslator } from "./Anthropic/Stream.js"
import {
  audioInput,
  callInfoOf,
  cannotServe,
  extraOpenAiParameters,
  fileByReference,
  fileTypeOutside,
  imageOver,
  imageTypeOutside,
  logitBias,
  manyChoices,
  missingKey,
  timedProbe,
  toolArgumentsNotObject,
  trimBase
} from "./internal/adapter.js"
import { type CallInfo, decodeJson, malformed } from "./internal/errors.js"
import { makeProviderHttp, type TextResponse } from "./internal/http.js"
import { parseEventJson, sseRuns } from "./internal/sse.js"

/** The provider id of this adapter. */
export const providerId = "anthropic"

/** The API version header value this adapter speaks. */
export const anthropicVersion = "2023-06-01"

const authHeaders = (key: ProviderKey | undefined): Record<string, string> => ({
  "anthropic-version": anthropicVersion,
  ...(key !== undefined ? { "x-api-key": Redacted.value(key.value) } : {})
})

/**
 * Build the adapter. `getConfig` is read on every call, so a config reload
 * (base URL, timeout, limits) applies to the next request. Its deadline
 * watchdogs live in the current `Scope` (the layer that builds it).
 */
export const make = (
  getConfig: Effect.Effect<ProviderConfig>
): Effect.Effect<Provider, never, HttpClient.HttpClient | Scope.Scope> =>
  Effect.gen(function*() {
    const http = yield* makeProviderHttp({
      provider: providerId,
      getConfig,
      requestId: requestIdOf,
      rateLimit: parseRateLimit,
      classify: classifyAnthropic
    })

    // chat and stream are plain Effect chains, not Effect.fn/Effect.gen: no
    // stack capture, span or generator per call (the gateway keeps one span
    // per request).
    const messagesRequest = (ctx: CallContext, stream: boolean): Effect.Effect<HttpClientRequest.HttpClientRequest, ProviderError> => {
      const key = ctx.key
      if (key === undefined) return Effect.fail(missingKey(providerId, ctx.model))
      return Effect.flatMap(getConfig, (config) => {
        const body = toAnthropicRequest(ctx.request, ctx.model, { stream, context: { provider: providerId, model: ctx.model.id } })
        if (Either.isLeft(body)) return Effect.fail(body.left)
        return Effect.succeed(HttpClientRequest.post(`${trimBase(config.baseUrl)}/v1/messages`).pipe(
          HttpClientRequest.setHeaders(authHeaders(key)),
          HttpClientRequest.acceptJson,
          HttpClientRequest.bodyUnsafeJson(body.right)
        ))
      })
    }

    const toResult = (info: CallInfo) => (answer: TextResponse): Effect.Effect<ChatResult, ProviderError> => {
      const base = { provider: providerId, info, meta: answer }
      // The everyday answer is read in plain JS (Anthropic/shape.ts), anything else by the Schema as before.
      const plain = plainResponse(parseEventJson(answer.body))
      const decoded = plain !== undefined ? Effect.succeed(plain) : decodeJson(AnthropicResponse, answer.body, base)
      return Effect.flatMap(decoded, (decoded) =>
        Effect.flatMap(Clock.currentTimeMillis, (nowMs) => {
          const normalised = fromAnthropicResponse(decoded, nowMs)
          // A whole answer, billed: the error carries its usage.
          if ("_tag" in normalised) return Effect.fail(malformed(base, `unknown stop_reason ${String(normalised.stopReason)}`, usageOf(decoded.usage)))
          return Effect.succeed<ChatResult>({ response: normalised.response, rateLimit: answer.rateLimit, providerRequestId: answer.requestId, retried: answer.retried })
        }))
    }

    const chat = (ctx: CallContext): Effect.Effect<ChatResult, ProviderError> => {
      const info = callInfoOf(ctx.model, ctx.key, ctx)
      return Effect.flatMap(messagesRequest(ctx, false), (request) => http.call(info, request, toResult(info)))
    }

    const stream = (ctx: CallContext): Effect.Effect<StreamResult, ProviderError> => {
      const info = callInfoOf(ctx.model, ctx.key, ctx)
      return Effect.flatMap(messagesRequest(ctx, true), (request) =>
        http.stream(info, request, (opened) =>
          Effect.map(Clock.currentTimeMillis, (nowMs): StreamResult => {
            const context = { provider: providerId, info, meta: opened, nowMs }
            const runs = sseRuns(
              () => opened.open(),
              () => new AnthropicStreamTranslator(context, Math.floor(nowMs / 1000)),
              (detail) => new MalformedResponse({ provider: providerId, model: info.model, status: opened.status, detail })
            )
            return { ...runs, rateLimit: opened.rateLimit, providerRequestId: opened.requestId, retried: opened.retried }
          })))
    }

    const probe = (model: ModelMetadata, key: ProviderKey | undefined) =>
      timedProbe(Effect.gen(function*() {
        if (key === undefined) return yield* missingKey(providerId, model)
        const config = yield* getConfig
        const request = HttpClientRequest.get(
          `${trimBase(config.baseUrl)}/v1/models/${encodeURIComponent(model.providerModel)}`
        ).pipe(HttpClientRequest.setHeaders(authHeaders(key)), HttpClientRequest.acceptJson)
        return yield* http.call(callInfoOf(model, key), request, () => Effect.void, { retry: false })
      })).pipe(Effect.withSpan("Anthropic.probe"))

    // What a call takes from the key's output limit (OTPM) when it starts: the `max_tokens` it is sent with.
    return { id: providerId, requiresKey: true, chat, stream, probe, outputReservation: maxTokensOf, cannotServe: cannotServe(
      providerId,
      manyChoices,
      unschemedJson,
      openJsonObject,
      whitespaceStop,
      tooManyBreakpoints,
      logitBias,
      extraOpenAiParameters,
      unservedAnthropicEffort,
      audioInput,
      fileByReference,
      imageTypeOutside(imageMediaTypes),
      imageOver(maxImageBase64),
      fileTypeOutside(fileMediaTypes),
      toolArgumentsNotObject
    ) } satisfies Provider
  })
