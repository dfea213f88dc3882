/**
 * The admin API (`/admin/...`, behind the master key): models, reload, health,
 * the response cache's purge (costs and budgets are `Metrics.ts`, the dry run
 * of selection `AdminSelect.ts`).
 */
import type { HttpServerRequest } from "@effect/platform"
import { GatewayConfig } from "@modelgate/core/GatewayConfig"
import { HealthChecker } from "@modelgate/core/HealthChecker"
import { ModelRegistry } from "@modelgate/core/ModelRegistry"
import { CacheControl } from "@modelgate/core/ResponseCache"
import type { ConfigError, InvalidModel, ModelNotFound, StoreError } from "@modelgate/domain/Errors"
import { ModelMetadata } from "@modelgate/domain/Model"
import { Effect, Either, Option, Schema } from "effect"
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

  /** A reload's refusal of one file, saying whether the other (`applied`) was reloaded. */
  const refusedReload = (error: RegistryError, applied: string | undefined) => {
    const refused = fromRegistryError(error)
    return Effect.fail(applied === undefined ? refused : new ApiError({ ...refused, message: `${refused.message} (${applied} was reloaded and is in force)` }))
  }

  /**
   * `POST /admin/reload`: both files read again, each applied on its own (as
   * the file watcher applies them). `changed` says whether the gateway
   * configuration or the models (file and stored additions) differ from
   * those in force before; a reload that changes nothing publishes no
   * `ConfigReloaded`. When one file is refused, the 400 says whether the
   * other was reloaded and is in force.
   */
  const reload = Effect.gen(function* () {
    const before = yield* config.get
    const modelsBefore = listed(yield* registry.all)
    const after = yield* Effect.either(config.reload)
    const models = yield* Effect.either(registry.reload)
    if (Either.isLeft(after)) return yield* refusedReload(after.left, Either.isRight(models) ? "models.json" : undefined)
    if (Either.isLeft(models)) return yield* refusedReload(models.left, "gateway.json")
    const changed = after.right !== before || listed(models.right) !== modelsBefore
    return json({ status: "reloaded", models: models.right.length, changed })
  })

  const healthAll = Effect.map(health.all, (all) => json({ object: "list", data: all }))

  /**
   * `DELETE /admin/cache[?model=ID]`: the response cache's entries (of one
   * model, else all) purged from this instance's memory and the store at
   * once; the other instances on the database drop them at their next cache
   * sync. Answers how many went from each.
   */
  const cacheControl = yield* Effect.serviceOption(CacheControl)
  const purgeCache = (request: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function* () {
      if (Option.isNone(cacheControl)) {
        return yield* new ApiError({ status: 501, type: "server_error", code: "not_supported", message: "this gateway's response cache cannot be purged" })
      }
      const model = new URL(request.url, "http://gateway").searchParams.get("model")
      if (model === "") return yield* invalidRequest("invalid 'model': must name a model when given", "invalid_request", "model")
      const purged = yield* Effect.mapError(cacheControl.value.purge(model === null ? {} : { model }), fromRegistryError)
      yield* Effect.logInfo(`response cache purged${model === null ? "" : ` of ${model}`}: ${purged.memory} entries in memory, ${purged.store} in the store`)
      return json({ object: "cache.purge", model, purged })
    })

  return {
    listModels,
    addModel,
    updateModel,
    reload,
    healthAll,
    purgeCache
  } as const
})
