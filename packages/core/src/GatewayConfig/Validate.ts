/**
 * `validate`: every problem of a configuration directory at once (for
 * `modelgate config validate`), where `load` stops at the first.
 */
import { FileSystem, Path } from "@effect/platform"
import { ConfigError } from "@modelgate/domain/Errors"
import { KnownProviders } from "@modelgate/domain/Ids"
import { Effect, Either, Option } from "effect"
import { decodeAll, parseJson, readOptional } from "../ConfigFiles.js"
import { GatewayConfigData } from "../GatewayConfigSchema.js"
import { checkModelsText, namedIds } from "../ModelRegistry/Validation.js"
import { envProblems, loadAll, type ReadFile, readJson } from "./Load.js"
import { deepMerge, isPlainObject } from "./Merge.js"
import { type UnknownModelReference, unknownModelReferences } from "./ModelReferences.js"

/** What `validate` checks besides `gateway.json`. */
export interface ValidateOptions {
  /** Check only this overlay; by default every `environments/*.json`. */
  readonly environment?: string | undefined
  /** Provider ids `models.json` may name (default: `KnownProviders`). */
  readonly knownProviders?: ReadonlyArray<string> | undefined
}

/**
 * Every problem found in `directory`: the directory itself and `models.json`
 * (both required by the gateway: "file not found" with their paths),
 * `gateway.json` (optional), the overlays (each merged over the base; checked
 * too when `gateway.json` has errors, then only for what the overlay sets), the
 * environment variables, `models.json`'s content, and the model ids the
 * configuration names (`budgets.perModel`, virtual keys' `models`) that
 * `models.json` lacks (a typo; at run time only a warning). An empty array means the
 * directory is valid. Never fails.
 */
export const validate = (
  directory: string,
  options: ValidateOptions = {}
): Effect.Effect<ReadonlyArray<ConfigError>, never, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const errors: Array<ConfigError> = []
    // Each file read once: every check (and the search for unknown model ids) sees the same text.
    const read: ReadFile = yield* Effect.cachedFunction(readOptional)
    const push = (result: Either.Either<unknown, ReadonlyArray<ConfigError>>) => {
      if (Either.isLeft(result)) errors.push(...result.left)
    }

    const envDir = path.join(directory, "environments")
    const environments =
      options.environment !== undefined
        ? [options.environment]
        : yield* fs.readDirectory(envDir).pipe(
            Effect.map((names) => names.filter((n) => n.endsWith(".json")).map((n) => n.slice(0, -5)).sort()),
            Effect.orElseSucceed((): ReadonlyArray<string> => [])
          )

    const isDirectory = yield* fs.stat(directory).pipe(
      Effect.map((info) => info.type === "Directory"),
      Effect.orElseSucceed(() => false)
    )
    if (!isDirectory) errors.push(new ConfigError({ file: directory, path: "", reason: "directory not found" }))

    const base = yield* loadAll({ directory }, read)
    push(base)
    // The variables are checked too when gateway.json is invalid (loadAll stops at the files' problems then);
    // when they were what failed, loadAll listed them already.
    if (Either.isLeft(base)) {
      const listed = new Set(errors.map((e) => e.message))
      for (const e of yield* envProblems) if (!listed.has(e.message)) errors.push(e)
    }
    const seen = new Set(errors.map((e) => e.message))
    for (const environment of environments) {
      const result = Either.isRight(base)
        ? yield* loadAll({ directory, environment }, read)
        : yield* overlayOnly(path.join(directory, "gateway.json"), path.join(envDir, `${environment}.json`), read)
      if (Either.isLeft(result)) {
        for (const e of result.left) if (!seen.has(e.message)) errors.push(e)
      }
    }

    const modelsFile = path.join(directory, "models.json")
    const models = yield* Effect.either(read(modelsFile))
    if (Either.isLeft(models)) errors.push(models.left)
    else if (Option.isNone(models.right)) errors.push(new ConfigError({ file: modelsFile, path: "", reason: "file not found" }))
    else {
      const checked = checkModelsText(modelsFile, models.right.value, new Set(options.knownProviders ?? KnownProviders))
      push(checked)
      // The ids the file names, its invalid models' too (their problems are listed above): a typo elsewhere is one more.
      const ids = Either.match(parseJson(modelsFile, models.right.value), { onLeft: () => undefined, onRight: namedIds })
      if (ids !== undefined) {
        // Read from the files as written, so that they are listed whatever else is wrong in them.
        const baseFile = path.join(directory, "gateway.json")
        const unknown = (file: string) => (r: UnknownModelReference) =>
          new ConfigError({ file, path: r.path, reason: `unknown model id ${JSON.stringify(r.id)}: ${modelsFile} has no such model` })
        const baseJson = yield* Effect.orElseSucceed(readJson(baseFile, read), (): unknown => ({}))
        errors.push(...unknownModelReferences(baseJson, ids).map(unknown(baseFile)))
        for (const environment of environments) {
          const overlayFile = path.join(envDir, `${environment}.json`)
          const overlayJson = yield* Effect.orElseSucceed(readJson(overlayFile, read), (): unknown => ({}))
          errors.push(
            ...unknownModelReferences(deepMerge(baseJson, overlayJson), ids)
              .filter((r) => overlaySetsKeys(baseJson, overlayJson, r.keys.map(String)))
              .map(unknown(overlayFile))
          )
        }
      }
    }
    return errors
  })

/**
 * Does the overlay set the value at `path` (`a.b[0].c`)? True when it holds the
 * path, replaces a subtree on the way (a scalar or an array), or adds a key the
 * base does not have; false when the value comes from the base.
 */
const overlaySets = (base: unknown, overlay: unknown, path: string): boolean =>
  overlaySetsKeys(base, overlay, path.split(/[.[\]]+/).filter((k) => k !== ""))

/** `overlaySets` with the path as its keys (a key may hold any character). */
const overlaySetsKeys = (base: unknown, overlay: unknown, keys: ReadonlyArray<string>): boolean => {
  let b = base
  let o = overlay
  for (const key of keys) {
    if (!isPlainObject(o)) return true
    if (!Object.hasOwn(o, key)) return false
    if (!isPlainObject(b) || !Object.hasOwn(b, key)) return true
    b = b[key]
    o = o[key]
  }
  return true
}

/**
 * The problems of one overlay when `gateway.json` itself is invalid: the overlay
 * merged over the base, keeping only the problems at values the overlay sets
 * (the base's own are reported against `gateway.json`).
 */
const overlayOnly = (baseFile: string, overlayFile: string, read: ReadFile) =>
  Effect.gen(function* () {
    const base = yield* Effect.orElseSucceed(readJson(baseFile, read), (): unknown => ({}))
    const overlay = yield* Effect.either(readJson(overlayFile, read))
    if (Either.isLeft(overlay)) return Either.left([overlay.left])
    return decodeAll(GatewayConfigData, overlayFile, deepMerge(base, overlay.right)).pipe(
      Either.mapLeft((errors) => errors.filter((e) => overlaySets(base, overlay.right, e.path)))
    )
  })
