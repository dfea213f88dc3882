/**
 * Validation of models: the whole models file (every problem as a
 * `ConfigError` with its path) and single models given to `add` / `update`
 * (an `InvalidModel` naming the model id and field).
 */
import { ConfigError, InvalidModel } from "@modelgate/domain/Errors"
import { ModelMetadata, ModelPatch, ModelsFile } from "@modelgate/domain/Model"
import { effortMappingProblem } from "@modelgate/domain/ModelParameters"
import { Effect, Either, type ParseResult, Schema } from "effect"
import { decodeAll, parseIssues, parseJson } from "../ConfigFiles.js"
import type { ModelOverride } from "../ModelStore.js"

/** The id a client asks for to let the gateway choose: no model may take it (it could never be asked for by name). */
const reservedId = "auto"
const reservedReason = `"${reservedId}" is reserved: a request for model ${reservedId} lets the gateway choose among the models`

/** Why `model` cannot be served as it is: an answer limit the context window (prompt and answer) cannot hold. */
const outputProblem = (model: ModelMetadata): string | undefined =>
  model.maxOutputTokens > model.contextWindow
    ? `maxOutputTokens ${model.maxOutputTokens} is more than the contextWindow of ${model.contextWindow} (the window holds the prompt and the answer)`
    : undefined

/** Duplicate ids, the reserved id, unknown providers, reasoning efforts a provider cannot take, answer limits over the context window and unknown fallback ids of a decoded model list. */
export const checkModelSet = (
  file: string,
  models: ReadonlyArray<ModelMetadata>,
  knownProviders: ReadonlySet<string>
): ReadonlyArray<ConfigError> => checkEntries(file, models.map((model, i) => [i, model] as const), new Set(models.map((m) => m.id)), knownProviders)

/**
 * `checkModelSet` over the models of a file that decoded, each with its index
 * in the file; `ids` are every id of the file (fallbacks may name a model that
 * did not decode).
 */
const checkEntries = (
  file: string,
  entries: ReadonlyArray<readonly [number, ModelMetadata]>,
  ids: ReadonlySet<string>,
  knownProviders: ReadonlySet<string>
): ReadonlyArray<ConfigError> => {
  const errors: Array<ConfigError> = []
  const seen = new Map<string, number>()
  for (const [i, model] of entries) {
    const first = seen.get(model.id)
    if (first !== undefined) {
      errors.push(new ConfigError({ file, path: `models[${i}].id`, reason: `duplicate model id "${model.id}" (first at models[${first}])` }))
    } else seen.set(model.id, i)
    if (model.id === reservedId) errors.push(new ConfigError({ file, path: `models[${i}].id`, reason: reservedReason }))
    if (!knownProviders.has(model.provider)) {
      errors.push(
        new ConfigError({ file, path: `models[${i}].provider`, reason: `unknown provider "${model.provider}" (known: ${[...knownProviders].join(", ")})` })
      )
    }
    const effort = effortMappingProblem(model)
    if (effort !== undefined) {
      errors.push(new ConfigError({ file, path: `models[${i}].reasoningEfforts.${effort.effort}`, reason: effort.reason }))
    }
    const output = outputProblem(model)
    if (output !== undefined) errors.push(new ConfigError({ file, path: `models[${i}].maxOutputTokens`, reason: output }))
  }
  for (const [i, model] of entries) {
    model.fallbacks.forEach((fallback, j) => {
      if (!ids.has(fallback)) {
        errors.push(new ConfigError({ file, path: `models[${i}].fallbacks[${j}]`, reason: `unknown fallback model id "${fallback}"` }))
      } else if (fallback === model.id) {
        errors.push(new ConfigError({ file, path: `models[${i}].fallbacks[${j}]`, reason: "a model cannot fall back to itself" }))
      }
    })
  }
  return errors
}

/** The `models` array of the JSON of a models file, if it has one. */
const modelsIn = (json: unknown): ReadonlyArray<unknown> | undefined => {
  const models = typeof json === "object" && json !== null && "models" in json ? json.models : undefined
  return Array.isArray(models) ? models : undefined
}

/**
 * Every string `id` of the entries of a models file's JSON, whether or not
 * the entry is valid: the models the file means to define (undefined when it
 * has no `models` array).
 */
export const namedIds = (json: unknown): ReadonlySet<string> | undefined => {
  const models = modelsIn(json)
  if (models === undefined) return undefined
  return new Set(models.flatMap((m: unknown) => (typeof m === "object" && m !== null && "id" in m && typeof m.id === "string" ? [m.id] : [])))
}

const decodeModel = Schema.decodeUnknownEither(ModelMetadata, { onExcessProperty: "error" })

/**
 * When the file does not decode: the checks of `checkModelSet` on the models
 * that do, so that every problem is listed at once, not the schema's first.
 */
const checkDecodable = (file: string, json: unknown, knownProviders: ReadonlySet<string>): ReadonlyArray<ConfigError> => {
  const models = modelsIn(json)
  const ids = namedIds(json)
  if (models === undefined || ids === undefined) return []
  const entries = models.flatMap((m: unknown, i) => {
    const decoded = decodeModel(m)
    return Either.isRight(decoded) ? [[i, decoded.right] as const] : []
  })
  return checkEntries(file, entries, ids, knownProviders)
}

/**
 * `errors` of a models file's JSON, each in an entry with a string `id` named
 * by that id too: `models[13]` alone leaves a user counting entries.
 */
const namingModels = (json: unknown, errors: ReadonlyArray<ConfigError>): ReadonlyArray<ConfigError> => {
  const models = modelsIn(json)
  if (models === undefined) return errors
  return errors.map((error) => {
    const index = /^models\[(\d+)\]/.exec(error.path)?.[1]
    const entry: unknown = index === undefined ? undefined : models[Number(index)]
    const id = typeof entry === "object" && entry !== null && "id" in entry && typeof entry.id === "string" ? entry.id : undefined
    return id === undefined ? error : new ConfigError({ ...error, model: id })
  })
}

/** Parse, decode and check the text of a models file: the models, or every problem found (each naming its model's id). */
export const checkModelsText = (
  file: string,
  text: string,
  knownProviders: ReadonlySet<string>
): Either.Either<ReadonlyArray<ModelMetadata>, ReadonlyArray<ConfigError>> =>
  parseJson(file, text).pipe(
    Either.mapLeft((e): ReadonlyArray<ConfigError> => [e]),
    Either.flatMap((json) =>
      Either.mapLeft(
        Either.flatMap(
          Either.mapLeft(decodeAll(ModelsFile, file, json), (errors) => [...errors, ...checkDecodable(file, json, knownProviders)]),
          (doc) => {
            const errors = checkModelSet(file, doc.models, knownProviders)
            return errors.length === 0 ? Either.right(doc.models) : Either.left(errors)
          }
        ),
        (errors) => namingModels(json, errors)
      )
    )
  )

const idOf = (input: unknown, fallback: string): string => {
  if (typeof input === "object" && input !== null && "id" in input && typeof input.id === "string") return input.id
  return fallback
}

const invalid = (modelId: string, error: ParseResult.ParseError) => {
  const issue = parseIssues(error)[0]
  return new InvalidModel({ modelId, field: issue?.path || "(model)", reason: issue?.message ?? error.message })
}

/** Checks against the rest of the registry: provider known, efforts its provider takes, answer limit within the window, fallbacks present and not the model itself. */
const checkAgainst = (
  model: ModelMetadata,
  others: ReadonlyArray<ModelMetadata>,
  knownProviders: ReadonlySet<string>
): Effect.Effect<ModelMetadata, InvalidModel> => {
  if (!knownProviders.has(model.provider)) {
    return Effect.fail(
      new InvalidModel({ modelId: model.id, field: "provider", reason: `unknown provider "${model.provider}" (known: ${[...knownProviders].join(", ")})` })
    )
  }
  const effort = effortMappingProblem(model)
  if (effort !== undefined) {
    return Effect.fail(new InvalidModel({ modelId: model.id, field: `reasoningEfforts.${effort.effort}`, reason: effort.reason }))
  }
  const output = outputProblem(model)
  if (output !== undefined) return Effect.fail(new InvalidModel({ modelId: model.id, field: "maxOutputTokens", reason: output }))
  const ids = new Set(others.map((m) => m.id))
  for (const [j, fallback] of model.fallbacks.entries()) {
    if (fallback === model.id) {
      return Effect.fail(new InvalidModel({ modelId: model.id, field: `fallbacks[${j}]`, reason: "a model cannot fall back to itself" }))
    }
    if (!ids.has(fallback)) {
      return Effect.fail(new InvalidModel({ modelId: model.id, field: `fallbacks[${j}]`, reason: `unknown fallback model id "${fallback}"` }))
    }
  }
  return Effect.succeed(model)
}

/** Validate a new model against the registry `current`. */
export const validateNew = (
  input: unknown,
  current: ReadonlyArray<ModelMetadata>,
  knownProviders: ReadonlySet<string>
): Effect.Effect<ModelMetadata, InvalidModel> =>
  Schema.decodeUnknown(ModelMetadata, { onExcessProperty: "error" })(input).pipe(
    Effect.mapError((error) => invalid(idOf(input, "(no id)"), error)),
    Effect.filterOrFail(
      (model) => !current.some((m) => m.id === model.id),
      (model) => new InvalidModel({ modelId: model.id, field: "id", reason: "a model with this id already exists" })
    ),
    Effect.filterOrFail(
      (model) => model.id !== reservedId,
      (model) => new InvalidModel({ modelId: model.id, field: "id", reason: reservedReason })
    ),
    Effect.flatMap((model) => checkAgainst(model, current, knownProviders))
  )

/** Validate `patch` applied to `existing`: the decoded patch and the patched model. */
export const validatePatch = (
  existing: ModelMetadata,
  input: unknown,
  current: ReadonlyArray<ModelMetadata>,
  knownProviders: ReadonlySet<string>
): Effect.Effect<{ readonly patch: ModelPatch; readonly model: ModelMetadata }, InvalidModel> =>
  Effect.gen(function* () {
    if (typeof input !== "object" || input === null || Array.isArray(input)) {
      const actual = Array.isArray(input) ? "an array" : input === null ? "null" : `a ${typeof input}`
      return yield* new InvalidModel({ modelId: existing.id, field: "(model)", reason: `expected an object of the fields to change, actual ${actual}` })
    }
    const otherId = idOf(input, existing.id)
    if (otherId !== existing.id) {
      return yield* new InvalidModel({ modelId: existing.id, field: "id", reason: `the id of a model cannot change (got "${otherId}")` })
    }
    const body = Object.fromEntries(Object.entries(input).filter(([k]) => k !== "id"))
    const patch = yield* Schema.decodeUnknown(ModelPatch, { onExcessProperty: "error" })(body).pipe(Effect.mapError((error) => invalid(existing.id, error)))
    const model = yield* Schema.decodeUnknown(ModelMetadata)({
      ...Schema.encodeSync(ModelMetadata)(existing),
      ...Schema.encodeSync(ModelPatch)(patch)
    }).pipe(Effect.mapError((error) => invalid(existing.id, error)))
    return { patch, model: yield* checkAgainst(model, current, knownProviders) }
  })

/** Apply a (trusted, already decoded) patch. */
export const applyPatch = (model: ModelMetadata, patch: ModelPatch): ModelMetadata => {
  const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<ModelMetadata>
  return ModelMetadata.make({ ...model, ...defined }, true)
}

/**
 * The registry: `base` (the models file) with the overrides applied in order.
 * Patches of models no longer in the file are skipped, and fallback ids that no
 * longer exist are dropped; both are returned as warnings, as is a model whose
 * `maxOutputTokens` a patch left over the file's new `contextWindow` (kept as it is),
 * and an added model whose id the file now defines too (the added one stays).
 */
export const mergeOverrides = (
  base: ReadonlyArray<ModelMetadata>,
  overrides: ReadonlyArray<ModelOverride>
): { readonly models: ReadonlyArray<ModelMetadata>; readonly warnings: ReadonlyArray<string> } => {
  const byId = new Map(base.map((m) => [m.id as string, m] as const))
  const inFile = new Set(byId.keys())
  const warnings: Array<string> = []
  for (const override of overrides) {
    if (override._tag === "AddedModel") {
      if (inFile.has(override.model.id)) {
        warnings.push(`${override.model.id}: the models file's entry is not in force: the model added through the admin API (stored in the database) replaces it`)
      }
      byId.set(override.model.id, override.model)
    } else {
      const existing = byId.get(override.id)
      if (existing === undefined) warnings.push(`update of ${override.id} skipped: the model is no longer in the models file`)
      else byId.set(override.id, applyPatch(existing, override.patch))
    }
  }
  const models = [...byId.values()].map((model) => {
    const output = outputProblem(model)
    if (output !== undefined) warnings.push(`${model.id}: ${output}`)
    const kept = model.fallbacks.filter((f) => byId.has(f) && f !== model.id)
    if (kept.length === model.fallbacks.length) return model
    warnings.push(`${model.id}: dropped unknown fallbacks ${model.fallbacks.filter((f) => !kept.includes(f)).join(", ")}`)
    return ModelMetadata.make({ ...model, fallbacks: kept }, true)
  })
  return { models, warnings }
}
