/**
 * The admin API (`/admin/...`, behind the master key): models, reload, health,
 * costs, budgets, and a dry-run of model selection.
 */
import type { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { GatewayConfig } from "@modelgate/core/GatewayConfig"
import { HealthChecker } from "@modelgate/core/HealthChecker"
import { ModelRegistry } from "@modelgate/core/ModelRegistry"
import { ModelSelector } from "@modelgate/core/ModelSelector"
import { ChatRequest } from "@modelgate/domain/Chat"
import type { ConfigError, InvalidModel, ModelNotFound, StoreError } from "@modelgate/domain/Errors"
import { ModelMetadata } from "@modelgate/domain/Model"
import { Effect, Schema } from "effect"
import { ApiError, invalidRequest } from "./ApiError.js"
import { decoder, readJson } from "./Body.js"
import { json } from "./Info.js"
import { requirementsFrom } from "./Requirements.js"

const encodeModel = Schema.encodeSync(ModelMetadata)
const decodeChat = decoder(ChatRequest)
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

/** 501 for an endpoint whose backing service API has not landed yet. */
export const notImplemented = (what: string): ApiError =>
  new ApiError({ status: 501, type: "server_error", code: "not_implemented", message: `${what} is not available in this build yet` })

const textLength = (request: ChatRequest): number => {
  let chars = 0
  for (const message of request.messages) {
    const content = message.content
    if (typeof content === "string") chars += content.length
    else if (Array.isArray(content)) for (const part of content) chars += "text" in part ? part.text.length : 1_000
  }
  return chars
}

/** Handlers of the admin endpoints (auth is checked by the router). */
export const make = Effect.gen(function* () {
  const registry = yield* ModelRegistry
  const health = yield* HealthChecker
  const selector = yield* ModelSelector
  const config = yield* GatewayConfig

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
      const raw = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {}
      const chat = yield* decodeChat(body)
      const requirements = yield* requirementsFrom(raw["modelgate"], request.headers)
      const only = chat.model === "auto"
        ? undefined
        : yield* registry.resolve(chat.model).pipe(
          Effect.map((m) => [m.id, ...m.fallbacks]),
          Effect.mapError(fromRegistryError)
        )
      // A rough estimate (4 characters a token) is enough to rank; the gateway counts exactly when it runs.
      const estimatedPromptTokens = Math.ceil(textLength(chat) / 4) + 4 * chat.messages.length
      const maxOutputTokens = chat.max_completion_tokens ?? chat.max_tokens ?? 1024
      const ranking = yield* selector.rank({ requirements, estimatedPromptTokens, maxOutputTokens, only })
      return json({
        requirements,
        estimatedPromptTokens,
        maxOutputTokens,
        ranked: ranking.ranked.map((s, i) => ({
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
    select,
    costs: Effect.fail(notImplemented("GET /admin/costs (needs the CostTracker aggregation API)")),
    budgets: Effect.fail(notImplemented("GET /admin/budgets (needs the CostTracker budget status API)"))
  } satisfies Record<string, Effect.Effect<HttpServerResponse.HttpServerResponse, ApiError> | ((...args: never) => unknown)>
})
