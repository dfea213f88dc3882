/**
 * The Ollama adapter: `POST {baseUrl}/api/chat` (`stream: false` for chat,
 * NDJSON for streams), sampling in `options` (`num_ctx`: the registry's
 * context window), tools, `format` for JSON mode,
 * usage from `prompt_eval_count` / `eval_count`, `GET {baseUrl}/api/tags` as
 * the probe. Needs no key (one, if given, is sent as Bearer for Ollama cloud).
 */
import type { ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import type { CallContext, ChatResult, Provider, ProviderKey, StreamResult } from "@modelgate/core/Provider"
import type { ModelMetadata } from "@modelgate/domain/Model"
import { BadRequest, MalformedResponse, type ProviderError, Transport } from "@modelgate/domain/ProviderError"
import { type HttpClient, HttpClientRequest } from "@effect/platform"
import { Clock, Effect, Either, Random, Redacted, type Scope } from "effect"
import {
  type CallInfo,
  audioInput,
  callInfoOf,
  cannotServe,
  decodeJson,
  effortValue,
  excerpt,
  extraOpenAiParameters,
  fileInput,
  logitBias,
  makeProviderHttp,
  manyChoices,
  parseEventJson,
  remoteImage,
  serialToolCalls,
  type TextResponse,
  timedProbe,
  toolArgumentsNotObject,
  toStream,
  trimBase
} from "./internal/index.js"
import { classify } from "./Ollama/errors.js"
import { type Identity, normaliseResponse, pullStream, usageOf } from "./Ollama/normalise.js"
import { plainChatLine } from "./Ollama/shape.js"
import { forcedToolChoice, requestBody, unservedOllamaEffort, WireChatLine, WireTags } from "./Ollama/wire.js"

/** The provider id this adapter serves. */
export const providerId = "ollama"

const withKey = (request: HttpClientRequest.HttpClientRequest, key: ProviderKey | undefined) =>
  key === undefined ? request : request.pipe(HttpClientRequest.bearerToken(Redacted.value(key.value)))

const identity = (model: string): Effect.Effect<Identity> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) =>
    Effect.map(Random.nextIntBetween(0, 2 ** 31 - 1), (n) => ({
      id: `chatcmpl-ollama-${now.toString(36)}${n.toString(36)}`,
      created: Math.floor(now / 1000),
      model
    })))

/** Whether a tag list names the model (`llama3.2` matches `llama3.2:latest`). */
export const listed = (names: ReadonlyArray<string>, model: string): boolean =>
  names.some((name) => name === model || name === `${model}:latest` || `${name}:latest` === model)

/**
 * Build the Ollama adapter. `getConfig` is read on every call, so a config
 * reload applies to the next request. Its deadline watchdogs live in the current
 * `Scope` (the layer that builds it).
 */
export const make = (getConfig: Effect.Effect<ProviderConfig>): Effect.Effect<Provider, never, HttpClient.HttpClient | Scope.Scope> =>
  Effect.gen(function*() {
    const http = yield* makeProviderHttp({
      provider: providerId,
      getConfig,
      requestId: () => undefined,
      rateLimit: () => undefined,
      classify
    })

    // chat and stream are plain Effect chains, not Effect.fn/Effect.gen: no
    // stack capture, span or generator per call (the gateway keeps one span
    // per request).
    const post = (ctx: CallContext, stream: boolean): Effect.Effect<HttpClientRequest.HttpClientRequest, ProviderError> => {
      // What the gateway's ranking keeps away; a direct caller gets it as a BadRequest.
      const unsent = remoteImage(providerId, ctx.request, ctx.model) ?? toolArgumentsNotObject(providerId, ctx.request, ctx.model)
      if (unsent !== undefined) return Effect.fail(new BadRequest({ provider: providerId, model: ctx.model.id, detail: unsent.reason }))
      const body = requestBody(ctx.request, ctx.model.providerModel, stream, effortValue(ctx.request, ctx.model), ctx.model.contextWindow)
      if (Either.isLeft(body)) return Effect.fail(new BadRequest({ provider: providerId, model: ctx.model.id, ...body.left }))
      return Effect.map(getConfig, (config) =>
        withKey(
          HttpClientRequest.post(`${trimBase(config.baseUrl)}/api/chat`).pipe(HttpClientRequest.bodyUnsafeJson(body.right)),
          ctx.key
        ))
    }

    const toResult = (ctx: CallContext, info: CallInfo) => (res: TextResponse): Effect.Effect<ChatResult, ProviderError> => {
      // The everyday answer is read in plain JS (Ollama/shape.ts), anything else by the Schema as before.
      const plain = plainChatLine(parseEventJson(res.body))
      const decoded = plain !== undefined
        ? Effect.succeed(plain)
        : decodeJson(WireChatLine, res.body, { provider: providerId, info, meta: res })
      return Effect.flatMap(decoded, (line) =>
        Effect.flatMap(identity(ctx.model.providerModel), (id) => {
          const normalised = normaliseResponse(line, ctx.request, id)
          if (normalised._tag === "Invalid") {
            // An answer that counted its tokens was run (and is billed, where Ollama is): the error carries them.
            const counted = line.prompt_eval_count !== undefined || line.eval_count !== undefined
            return Effect.fail(
              new MalformedResponse({
                provider: providerId,
                model: info.model,
                status: res.status,
                detail: `${normalised.reason}; body: ${excerpt(res.body, info.secrets, 200)}`,
                ...(counted ? { usage: usageOf(line, ctx.request, line.message?.content ?? "") } : {})
              })
            )
          }
          return Effect.succeed<ChatResult>({ response: normalised.value, rateLimit: undefined, providerRequestId: undefined, retried: res.retried })
        }))
    }

    const chat = (ctx: CallContext): Effect.Effect<ChatResult, ProviderError> => {
      const info = callInfoOf(ctx.model, ctx.key, ctx)
      return Effect.flatMap(post(ctx, false), (request) => http.call(info, request, toResult(ctx, info)))
    }

    const stream = (ctx: CallContext): Effect.Effect<StreamResult, ProviderError> => {
      const info = callInfoOf(ctx.model, ctx.key, ctx)
      return Effect.flatMap(post(ctx, true), (request) =>
        Effect.flatMap(identity(ctx.model.providerModel), (id) =>
          http.stream(info, request, (res): Effect.Effect<StreamResult> => {
            const open = () => pullStream(providerId, info, ctx.request, res, id)
            return Effect.succeed({ chunks: toStream(open), open, rateLimit: undefined, providerRequestId: undefined, retried: res.retried })
          })))
    }

    const probe = Effect.fn("Ollama.probe")(function*(model: ModelMetadata, key: ProviderKey | undefined) {
      const info = callInfoOf(model, key)
      return yield* timedProbe(Effect.gen(function*() {
        const config = yield* getConfig
        return yield* http.call(info, withKey(HttpClientRequest.get(`${trimBase(config.baseUrl)}/api/tags`), key), (res) =>
          Effect.flatMap(decodeJson(WireTags, res.body, { provider: providerId, info, meta: res }), (tags) =>
            listed(tags.models.map((m) => m.name), model.providerModel)
              ? Effect.void
              : Effect.fail(
                // As a chat with it would be answered (a 404): nothing at this address serves it.
                new Transport({
                  provider: providerId,
                  model: model.id,
                  status: res.status,
                  detail: `model ${model.providerModel} is not installed (ollama pull ${model.providerModel})`,
                  unreachable: true
                })
              )), { retry: false })
      }))
    })

    return { id: providerId, requiresKey: false, chat, stream, probe, cannotServe: cannotServe(
      providerId,
      manyChoices,
      forcedToolChoice,
      serialToolCalls,
      logitBias,
      extraOpenAiParameters,
      unservedOllamaEffort,
      remoteImage,
      audioInput,
      fileInput,
      toolArgumentsNotObject
    ) } satisfies Provider
  })
