/**
 * The Ollama adapter: `POST {baseUrl}/api/chat` (`stream: false` for chat,
 * NDJSON for streams), sampling in `options`, tools, `format` for JSON mode,
 * usage from `prompt_eval_count` / `eval_count`, `GET {baseUrl}/api/tags` as
 * the probe. Needs no key (one, if given, is sent as Bearer for Ollama cloud).
 */
import type { ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import type { CallContext, ChatResult, Provider, ProviderKey, StreamResult } from "@modelgate/core/Provider"
import type { ModelMetadata } from "@modelgate/domain/Model"
import { BadRequest, MalformedResponse, type ProviderError } from "@modelgate/domain/ProviderError"
import { type HttpClient, HttpClientRequest } from "@effect/platform"
import { Clock, Effect, Random, Redacted } from "effect"
import {
  type CallInfo,
  callInfoOf,
  decodeJson,
  excerpt,
  makeProviderHttp,
  type TextResponse,
  timedProbe,
  trimBase
} from "./internal/index.js"
import { classify } from "./Ollama/errors.js"
import { type Identity, normaliseResponse, translateStream } from "./Ollama/normalise.js"
import { remoteImages, requestBody, WireChatLine, WireTags } from "./Ollama/wire.js"

/** The provider id this adapter serves. */
export const providerId = "ollama"

const withKey = (request: HttpClientRequest.HttpClientRequest, key: ProviderKey | undefined) =>
  key === undefined ? request : request.pipe(HttpClientRequest.bearerToken(Redacted.value(key.value)))

const identity = (model: string): Effect.Effect<Identity> =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const n = yield* Random.nextIntBetween(0, 2 ** 31 - 1)
    return { id: `chatcmpl-ollama-${now.toString(36)}${n.toString(36)}`, created: Math.floor(now / 1000), model }
  })

/** Whether a tag list names the model (`llama3.2` matches `llama3.2:latest`). */
export const listed = (names: ReadonlyArray<string>, model: string): boolean =>
  names.some((name) => name === model || name === `${model}:latest` || `${name}:latest` === model)

/**
 * Build the Ollama adapter. `getConfig` is read on every call, so a config
 * reload applies to the next request.
 */
export const make = (getConfig: Effect.Effect<ProviderConfig>): Effect.Effect<Provider, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const http = yield* makeProviderHttp({
      provider: providerId,
      getConfig,
      requestId: () => undefined,
      rateLimit: () => undefined,
      classify
    })

    const post = (ctx: CallContext, stream: boolean) =>
      Effect.gen(function*() {
        if (remoteImages(ctx.request) > 0) {
          return yield* new BadRequest({
            provider: providerId,
            model: ctx.model.id,
            detail: "Ollama takes images only inline (data: URLs); the request has a remote image URL"
          })
        }
        const config = yield* getConfig
        return withKey(
          HttpClientRequest.post(`${trimBase(config.baseUrl)}/api/chat`).pipe(
            HttpClientRequest.bodyUnsafeJson(requestBody(ctx.request, ctx.model.providerModel, stream))
          ),
          ctx.key
        )
      })

    const toResult = (ctx: CallContext, info: CallInfo) => (res: TextResponse): Effect.Effect<ChatResult, ProviderError> =>
      Effect.gen(function*() {
        const line = yield* decodeJson(WireChatLine, res.body, { provider: providerId, info, meta: res })
        const normalised = normaliseResponse(line, ctx.request, yield* identity(ctx.model.providerModel))
        if (normalised._tag === "Invalid") {
          return yield* new MalformedResponse({
            provider: providerId,
            model: info.model,
            status: res.status,
            detail: `${normalised.reason}; body: ${excerpt(res.body, info.secrets, 200)}`
          })
        }
        return { response: normalised.value, rateLimit: undefined, providerRequestId: undefined }
      })

    const chat = Effect.fn("Ollama.chat")(function*(ctx: CallContext) {
      const info = callInfoOf(ctx.model, ctx.key)
      const request = yield* post(ctx, false)
      return yield* http.call(info, request, toResult(ctx, info))
    })

    const stream = Effect.fn("Ollama.stream")(function*(ctx: CallContext) {
      const info = callInfoOf(ctx.model, ctx.key)
      const request = yield* post(ctx, true)
      const id = yield* identity(ctx.model.providerModel)
      return yield* http.stream(info, request, (res): Effect.Effect<StreamResult> =>
        Effect.succeed({
          chunks: translateStream(providerId, info, ctx.request, res, id),
          rateLimit: undefined,
          providerRequestId: undefined
        }))
    })

    const probe = Effect.fn("Ollama.probe")(function*(model: ModelMetadata, key: ProviderKey | undefined) {
      const info = callInfoOf(model, key)
      return yield* timedProbe(Effect.gen(function*() {
        const config = yield* getConfig
        return yield* http.call(info, withKey(HttpClientRequest.get(`${trimBase(config.baseUrl)}/api/tags`), key), (res) =>
          Effect.flatMap(decodeJson(WireTags, res.body, { provider: providerId, info, meta: res }), (tags) =>
            listed(tags.models.map((m) => m.name), model.providerModel)
              ? Effect.void
              : Effect.fail(
                new BadRequest({
                  provider: providerId,
                  model: model.id,
                  status: res.status,
                  detail: `model ${model.providerModel} is not installed (ollama pull ${model.providerModel})`
                })
              )), { retry: false })
      }))
    })

    return { id: providerId, requiresKey: false, chat, stream, probe } satisfies Provider
  })
