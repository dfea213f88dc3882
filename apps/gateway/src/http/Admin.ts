/**
 * The admin API (`/admin/...`, behind the master key): models, reload, health,
 * costs, budgets (the dry run of selection is `AdminSelect.ts`).
 */
import type { HttpServerRequest } from "@effect/platform"
import { GatewayConfig } from "@modelgate/core/GatewayConfig"
import { HealthChecker } from "@modelgate/core/HealthChecker"
import { ModelRegistry } from "@modelgate/core/ModelRegistry"
import type { ConfigError, InvalidModel, ModelNotFound, StoreError } from "@modelgate/domain/Errors"
import { ModelMetadata } from "@modelgate/domain/Model"
import { Effect, Schema } from "effect"
import { ApiError, invalidRequest } from "./ApiError.js"
import { adminBodyLimit, readJson } from "./Body.js"
import { json } from "./Info.js"

const encodeModel = Schema.encodeSync(ModelMetadata)
/** A model list as JSON text, for telling whether two lists differ. */
const listed = (models: ReadonlyArray<ModelMetadata>) => JSON.stringify(models.map((m) => encodeModel(m)))

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

  /**
   * `POST /admin/reload`: both files read again. `changed` says whether the
   * gateway configuration or the models (file and stored additions) differ
   * from those in force before; a reload that changes nothing publishes no
   * `ConfigReloaded`.
   */
  const reload = Effect.gen(function* () {
    const before = yield* config.get
    const modelsBefore = listed(yield* registry.all)
    const after = yield* Effect.mapError(config.reload, fromRegistryError)
    const models = yield* Effect.mapError(registry.reload, fromRegistryError)
    const changed = after !== before || listed(models) !== modelsBefore
    return json({ status: "reloaded", models: models.length, changed })
  })

  const healthAll = Effect.map(health.all, (all) => json({ object: "list", data: all }))

  return {
    listModels,
    addModel,
    updateModel,
    reload,
    healthAll
  } as const
})
