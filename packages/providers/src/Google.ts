/**
 * The Google Gemini adapter: `POST {baseUrl}/v1beta/models/{model}:generateContent`
 * and `:streamGenerateContent?alt=sse` with `x-goog-api-key`, answers and
 * streamed GenerateContentResponses normalised to the OpenAI shape, google.rpc
 * errors classified once.
 */
import { Headers, HttpClientRequest } from "@effect/platform"
import type * as HttpClient from "@effect/platform/HttpClient"
import type { ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import type { CallContext, ChatResult, Provider, ProviderKey, StreamResult } from "@modelgate/core/Provider"
import type { ModelMetadata } from "@modelgate/domain/Model"
import { MalformedResponse, type ProviderError } from "@modelgate/domain/ProviderError"
import { Clock, Effect, Either, FiberRef, Redacted, type Scope } from "effect"
import { classifyGoogle } from "./Google/Errors.js"
import { imageMediaTypes, jsonBesideTools, toGeminiRequest, unnamedForGemini, unservedGeminiEffort } from "./Google/Request.js"
import { fromGeminiResponse, GeminiResponse } from "./Google/Response.js"
import { plainResponse } from "./Google/shape.js"
import { GeminiStreamTranslator } from "./Google/Stream.js"
import * as ThoughtSignatures from "./Google/ThoughtSignatures.js"
import {
  callInfoOf,
  cannotServe,
  extraOpenAiParameters,
  fileByReference,
  imageTypeOutside,
  logitBias,
  missingKey,
  remoteImage,
  serialToolCalls,
  stopsOver,
  timedProbe,
  toolArgumentsNotObject,
  trimBase
} from "./internal/adapter.js"
import { type CallInfo, decodeJson } from "./internal/errors.js"
import { header } from "./internal/headers.js"
import { makeProviderHttp, type TextResponse } from "./internal/http.js"
import { effortValue } from "./internal/reasoning.js"
import { estimatedPromptTokens } from "./internal/usage.js"
import { parseEventJson, sseRuns } from "./internal/sse.js"

/** The provider id of this adapter. */
export const providerId = "google"

/** A model name as the path wants it: without a leading `models/`. */
export const modelPath = (model: string): string => encodeURIComponent(model.replace(/^models\//, ""))

const authHeaders = (key: ProviderKey): Record<string, string> => ({ "x-goog-api-key": Redacted.value(key.value) })

/**
 * Keep `x-goog-api-key` out of HTTP client spans (platform redacts only
 * `x-api-key`, `authorization`, cookies). The names are read only for spans,
 * which the client makes only with the tracer on: with it off (as in
 * `modelgate serve`) the call skips `locallyWith`, whose acquire/release cost
 * ~25 Effect ops per chat call and ~95 per stream.
 */
const redactKeyHeader = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.withFiberRuntime<A, E, R>((fiber) =>
    fiber.getFiberRef(FiberRef.currentTracerEnabled)
      ? Effect.locallyWith(effect, Headers.currentRedactedNames, (names) => [...names, "x-goog-api-key"])
      : effect
  )

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
      requestId: (headers) => header(headers, "x-request-id"),
      rateLimit: () => undefined,
      classify: classifyGoogle
    })
    // chat and stream are plain Effect chains, not Effect.fn/Effect.gen: no
    // stack capture, span or generator per call (the gateway keeps one span
    // per request).
    const generateRequest = (ctx: CallContext, stream: boolean): Effect.Effect<HttpClientRequest.HttpClientRequest, ProviderError> => {
      const key = ctx.key
      if (key === undefined) return Effect.fail(missingKey(providerId, ctx.model))
      return Effect.flatMap(getConfig, (config) => {
        const model = ctx.model.providerModel
        const body = toGeminiRequest(
          ctx.request,
          { provider: providerId, model: ctx.model.id },
          effortValue(ctx.request, ctx.model),
          // Each signed call's signature comes back in its id (ThoughtSignatures.ts): nothing is kept here.
          (toolCallId, first) => ThoughtSignatures.forCall(model, toolCallId, first)
        )
        if (Either.isLeft(body)) return Effect.fail(body.left)
        const method = stream ? "streamGenerateContent?alt=sse" : "generateContent"
        return Effect.succeed(
          HttpClientRequest.post(`${trimBase(config.baseUrl)}/v1beta/models/${modelPath(ctx.model.providerModel)}:${method}`).pipe(
            HttpClientRequest.setHeaders(authHeaders(key)),
            HttpClientRequest.acceptJson,
            HttpClientRequest.bodyUnsafeJson(body.right)
          )
        )
      })
    }

    /** Estimated prompt tokens, counted only when Gemini reports no usage. */
    const promptEstimate = (ctx: CallContext) => () => estimatedPromptTokens(ctx.request)

    const toResult = (ctx: CallContext, info: CallInfo) => (answer: TextResponse): Effect.Effect<ChatResult, ProviderError> => {
      // The everyday answer is read in plain JS (Google/shape.ts), anything else by the Schema as before.
      const plain = plainResponse(parseEventJson(answer.body))
      const decoded = plain !== undefined
        ? Effect.succeed(plain)
        : decodeJson(GeminiResponse, answer.body, { provider: providerId, info, meta: answer })
      return Effect.flatMap(decoded, (decoded) =>
        Effect.flatMap(Clock.currentTimeMillis, (nowMs) => {
          const response = fromGeminiResponse(decoded, {
            nowMs,
            model: ctx.model.providerModel,
            promptTokensEstimate: promptEstimate(ctx),
            fields: { provider: providerId, model: info.model, status: answer.status, requestId: answer.requestId, rateLimit: answer.rateLimit }
          })
          return Either.isLeft(response)
            ? Effect.fail(response.left)
            : Effect.succeed<ChatResult>({ response: response.right, rateLimit: answer.rateLimit, providerRequestId: answer.requestId, retried: answer.retried })
        }))
    }

    const chat = (ctx: CallContext): Effect.Effect<ChatResult, ProviderError> => {
      const info = callInfoOf(ctx.model, ctx.key, ctx)
      return Effect.flatMap(generateRequest(ctx, false), (request) => http.call(info, request, toResult(ctx, info)))
    }

    const stream = (ctx: CallContext): Effect.Effect<StreamResult, ProviderError> => {
      const info = callInfoOf(ctx.model, ctx.key, ctx)
      return Effect.flatMap(generateRequest(ctx, true), (request) =>
        http.stream(info, request, (opened) =>
          Effect.map(Clock.currentTimeMillis, (nowMs): StreamResult => {
            const context = {
              provider: providerId,
              info,
              meta: opened,
              nowMs,
              model: ctx.model.providerModel,
              promptTokensEstimate: promptEstimate(ctx),
              choices: ctx.request.n ?? 1
            }
            const runs = sseRuns(
              () => opened.open(),
              () => new GeminiStreamTranslator(context),
              (detail) => new MalformedResponse({ provider: providerId, model: info.model, status: opened.status, detail })
            )
            return { ...runs, rateLimit: opened.rateLimit, providerRequestId: opened.requestId, retried: opened.retried }
          })))
    }

    const probe = (model: ModelMetadata, key: ProviderKey | undefined) =>
      timedProbe(Effect.gen(function*() {
        if (key === undefined) return yield* missingKey(providerId, model)
        const config = yield* getConfig
        const request = HttpClientRequest.get(`${trimBase(config.baseUrl)}/v1beta/models/${modelPath(model.providerModel)}`).pipe(
          HttpClientRequest.setHeaders(authHeaders(key)),
          HttpClientRequest.acceptJson
        )
        return yield* http.call(callInfoOf(model, key), request, () => Effect.void, { retry: false })
      })).pipe(Effect.withSpan("Google.probe"))

    return {
      id: providerId,
      requiresKey: true,
      cannotServe: cannotServe(
        providerId,
        serialToolCalls,
        logitBias,
        extraOpenAiParameters,
        unservedGeminiEffort,
        remoteImage,
        imageTypeOutside(imageMediaTypes),
        fileByReference,
        stopsOver(5),
        toolArgumentsNotObject,
        unnamedForGemini,
        jsonBesideTools
      ),
      chat: (ctx) => redactKeyHeader(chat(ctx)),
      stream: (ctx) => redactKeyHeader(stream(ctx)),
      probe: (model, key) => redactKeyHeader(probe(model, key))
    } satisfies Provider
  })
