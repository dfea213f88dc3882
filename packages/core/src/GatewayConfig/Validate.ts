/**
 * `validate`: every problem of a configuration directory at once (for
 * `modelgate config validate`), where `load` stops at the first.
 */
import { FileSystem, Path } from "@effect/platform"
import { ConfigError } from "@modelgate/domain/Errors"
import { KnownProviders } from "@modelgate/domain/Ids"
import { Effect, Either, Option } from "effect"
import { readOptional } from "../ConfigFiles.js"
import { checkModelsText } from "../ModelRegistry/Validation.js"
import { loadAll } from "./Load.js"

/** What `validate` checks besides `gateway.json`. */
export interface ValidateOptions {
  /** Check only this overlay; by default every `environments/*.json`. */
  readonly environment?: string | undefined
  /** Provider ids `models.json` may name (default: `KnownProviders`). */
  readonly knownProviders?: ReadonlyArray<string> | undefined
}

/**
 * Every problem found in `directory`: `gateway.json`, the overlays (each merged
 * over the base), the environment variables, and `models.json` when present.
 * An empty array means the directory is valid. Never fails.
 */
export const validate = (
  directory: string,
  options: ValidateOptions = {}
): Effect.Effect<ReadonlyArray<ConfigError>, never, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const errors: Array<ConfigError> = []
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

    push(yield* loadAll({ directory }))
    const seen = new Set(errors.map((e) => e.message))
    for (const environment of environments) {
      const result = yield* loadAll({ directory, environment })
      if (Either.isLeft(result)) {
        for (const e of result.left) if (!seen.has(e.message)) errors.push(e)
      }
    }

    const modelsFile = path.join(directory, "models.json")
    const models = yield* Effect.either(readOptional(modelsFile))
    if (Either.isLeft(models)) errors.push(models.left)
    else if (Option.isSome(models.right)) {
      push(checkModelsText(modelsFile, models.right.value, new Set(options.knownProviders ?? KnownProviders)))
    }
    return errors
  })
