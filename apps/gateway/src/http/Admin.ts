/**
 * The admin API (`/admin/...`, behind the master key): models, reload, health,
 * costs, budgets, and a dry-run of model selection.
 */
import type { HttpServerRequest } from "@effect/platform"
import { candidatesFor } from "@modelgate/core/Failover"
import { GatewayConfig } from "@modelgate/core/GatewayConfig"
import { HealthChecker } from "@modelgate/core/HealthChecker"
import { ModelRegistry } from "@modelgate/core/ModelRegistry"
import { ModelSelector } from "@modelgate/core/ModelSelector"
import { selectionInputOf } from "@modelgate/core/ModelSelector/RequestInput"
import { Providers } from "@modelgate/core/Provider"
import { ChatRequest } from "@modelgate/domain/Chat"
import type { ConfigError, InvalidModel, ModelNotFound, StoreError } from "@modelgate/domain/Errors"
import { ModelMetadata } from "@modelgate/domain/Model"
import { Effect, Option, Schema } from "effect"
import { ApiError, invalidRequest } from "./ApiError.js"
import { decoder, readJson } from "./Body.js"
import { decodeChat } from "./Chat.js"
import { json } from "./Info.js"
import { requirementsFrom, withImplied } from "./Requirements.js"

const encodeModel = Schema.encodeSync(ModelMetadata)
const decodeAny = decoder(ChatRequest)
const adminBodyLimit = 1024 * 1024

type RegistryError = ConfigError | InvalidModel | ModelNotFound | StoreError

/** A registry or config error as its HTTP answer: 400 invalid, 404 unknown, 500 store. */
export const fromRegistryError = (error: RegistryError): ApiError => {
  switch (error._tag) {
    case "InvalidModel":
      return invalidRequest(error.message, "invalid_model", error.field)
    case "ModelNotFound":
      return new ApiError({ status: 404, type: "invalid_request_error", code: "model_not_found", message: error.message, param: "id" })
    case "ConfigError":
      return invalidRequest(error.message, "invalid_config", error.path === "" ? undefined : error.path)
    case "StoreError":
      return new ApiError({ status: 500, type: "server_error", code: "store_error", message: error.message })
  }
}

/** Handlers of the admin endpoints (auth is checked by the router). */
export const make = Effect.gen(function* () {
  const registry = yield* ModelRegistry
  const health = yield* HealthChecker
  const selector = yield* ModelSelector
  const config = yield* GatewayConfig
  // Optional: an app over test doubles may have no adapters (then nothing is excluded as unsupported).
  const providers = Option.getOrUndefined(yield* Effect.serviceOption(Providers))

  const listModels = Effect.map(registry.all, (models) => json({ object: "list", data: models.map((m) => encodeModel(m)) }))

  const addModel = (request: HttpServerRequest.HttpServerRequest) =>
    readJson(request, adminBodyLimit).pipe(
      Effect.flatMap((body) => Effect.mapError(registry.add(body), fromRegistryError)),
      Effect.map((model) => json(encodeModel(model), 201))
    )

  const updateModel = (request: HttpServerRequest.HttpServerRequest, id: string) =>
    readJson(request, adminBodyLimit).pipe(
      Effect.flatMap((body) => Effect.mapError(registry.update(id, body), fromRegistryError)),
      Effect.map((model) => json(encodeModel(model)))
    )

  const reload = Effect.gen(function* () {
    yield* Effect.mapError(config.reload, fromRegistryError)
    const models = yield* Effect.mapError(registry.reload, fromRegistryError)
    return json({ status: "reloaded", models: models.length })
  })

  const healthAll = Effect.map(health.all, (all) => json({ object: "list", data: all }))

  /** `POST /admin/select`: rank models for a chat request body without calling any provider. */
  const select = (request: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function* () {
      const body = yield* readJson(request, adminBodyLimit)
      const isRecord = typeof body === "object" && body !== null && !Array.isArray(body)
      const raw = isRecord ? (body as Record<string, unknown>) : {}
      // As the chat route decodes it (extra OpenAI parameters kept); anything else fails as the Schema says.
      const chat = yield* (isRecord ? decodeChat(raw) : decodeAny(body))
      const requirements = withImplied(chat, yield* requirementsFrom(raw["modelgate"], request.headers))
      const explicit = chat.model === "auto" ? undefined : yield* Effect.mapError(registry.resolve(chat.model), fromRegistryError)
      // As the gateway ranks the request.
      const input = selectionInputOf(chat, requirements, explicit, providers)
      const { estimatedPromptTokens, maxOutputTokens } = input
      const ranking = yield* selector.rank(input)
      // In the order the gateway tries them: a named model first, then its fallbacks (whatever their scores).
      const ranked = explicit === undefined
        ? ranking.ranked
        : candidatesFor(explicit, ranking).flatMap((model) => ranking.ranked.filter((s) => s.model.id === model.id))
      return json({
        requirements,
        estimatedPromptTokens,
        maxOutputTokens,
        ranked: ranked.map((s, i) => ({
          rank: i + 1,
          model: s.model.id,
          provider: s.model.provider,
          score: s.score,
          parts: s.parts,
          weights: s.weights,
          explanation: s.explanation
        })),
        excluded: ranking.excluded
      })
    })

  return {
    listModels,
    addModel,
    updateModel,
    reload,
    healthAll,
    select
  } as const
})
