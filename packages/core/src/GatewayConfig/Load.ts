/**
 * Reading the configuration directory: `gateway.json` (optional), the overlay
 * `environments/<env>.json` deep-merged over it, then single values from
 * environment variables. Every problem names its file (or variable), the path
 * inside it and the reason.
 */
import { FileSystem, Path } from "@effect/platform"
import { ConfigError } from "@modelgate/domain/Errors"
import { Config, Effect, Either, Option, Schema } from "effect"
import { decodeAll, firstError, parseJson, readOptional } from "../ConfigFiles.js"
import { GatewayConfigData } from "../GatewayConfigSchema.js"
import { deepMerge, setPath } from "./Merge.js"
import { ollamaBaseUrl } from "./OllamaHost.js"

/** Where the configuration lives. */
export interface Source {
  /** The configuration directory (holds `gateway.json`, `environments/`). */
  readonly directory: string
  /** The overlay to apply: `environments/<environment>.json` (none when absent). */
  readonly environment?: string | undefined
}

/** One environment variable that overrides one configuration value. */
export interface EnvOverride {
  readonly variable: string
  readonly path: ReadonlyArray<string>
  readonly config: Config.Config<string | number>
}

/** The environment variables read over the files, and what each sets. */
export const envOverrides: ReadonlyArray<EnvOverride> = [
  { variable: "PORT", path: ["server", "port"], config: Config.integer("PORT") },
  { variable: "HOST", path: ["server", "host"], config: Config.string("HOST") },
  { variable: "MODELGATE_DB", path: ["database", "filename"], config: Config.string("MODELGATE_DB") },
  { variable: "MODELGATE_LOG_LEVEL", path: ["logLevel"], config: Config.string("MODELGATE_LOG_LEVEL") },
  { variable: "OPENAI_BASE_URL", path: ["providers", "openai", "baseUrl"], config: Config.string("OPENAI_BASE_URL") },
  { variable: "ANTHROPIC_BASE_URL", path: ["providers", "anthropic", "baseUrl"], config: Config.string("ANTHROPIC_BASE_URL") },
  { variable: "GEMINI_BASE_URL", path: ["providers", "google", "baseUrl"], config: Config.string("GEMINI_BASE_URL") },
  { variable: "OLLAMA_HOST", path: ["providers", "ollama", "baseUrl"], config: Config.map(Config.string("OLLAMA_HOST"), ollamaBaseUrl) }
]

/** `(Invalid data at PORT: "Expected an integer value but received x")` -> `Expected an integer value but received x`. */
const configReason = (error: unknown): string => {
  const text = String(error)
  return /^\(?\w+ data at [^:]*: "?(.*?)"?\)?$/s.exec(text)?.[1] ?? text
}

const envFile = (variable: string) => `environment variable ${variable}`

/**
 * What the files are merged over: the four default providers, so that they
 * stay and an entry of one may leave out its `baseUrl`. Nothing else: every
 * other field has its own default, and a value merged in here would let a
 * file leave out what the schema requires (`evaluator.weights` given in part).
 */
const encodedDefaults: unknown = { providers: Schema.encodeSync(GatewayConfigData)(Schema.decodeUnknownSync(GatewayConfigData)({})).providers }

/** How a file of the directory is read: `readOptional`, or one that reads each file once (`validate`). */
export type ReadFile = (file: string) => Effect.Effect<Option.Option<string>, ConfigError, FileSystem.FileSystem>

/** Read (with `read`) and parse one JSON file of the directory; `{}` when it does not exist. */
export const readJson = (file: string, read: ReadFile) =>
  Effect.flatMap(read(file), (text) =>
    Option.match(text, { onNone: () => Effect.succeed<unknown>({}), onSome: (t) => parseJson(file, t) })
  )

/** The values of the environment overrides that are set, and the error of every malformed one (all are read). */
const readEnv = Effect.map(
  Effect.forEach(envOverrides, (o) =>
    Config.option(o.config).pipe(
      Effect.map(Option.map((value) => ({ override: o, value }))),
      Effect.mapError((e) => new ConfigError({ file: envFile(o.variable), path: o.path.join("."), reason: configReason(e) })),
      Effect.either
    )),
  (results) => ({
    values: results.flatMap((r) => (Either.isRight(r) ? Option.toArray(r.right) : [])),
    errors: results.flatMap((r) => (Either.isLeft(r) ? [r.left] : []))
  })
)

const startsWith = (path: string, prefix: ReadonlyArray<string>) => {
  const p = prefix.join(".")
  return path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[`)
}

/**
 * Decode the configuration, collecting every problem: in `gateway.json`, in the
 * overlay, in the environment variables (each attributed to its own source).
 * The files are read with `read`.
 */
export const loadAll = (
  source: Source,
  read: ReadFile = readOptional
): Effect.Effect<Either.Either<GatewayConfigData, ReadonlyArray<ConfigError>>, never, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const baseFile = path.join(source.directory, "gateway.json")
    const base = yield* Effect.either(readJson(baseFile, read))
    if (Either.isLeft(base)) return Either.left([base.left])
    // Each file is checked over the defaults: an entry of a default provider may leave out its `baseUrl`.
    const baseErrors = Either.match(decodeAll(GatewayConfigData, baseFile, deepMerge(encodedDefaults, base.right)), { onLeft: (e) => e, onRight: () => [] })
    if (baseErrors.length > 0) return Either.left(baseErrors)

    let merged = base.right
    if (source.environment !== undefined && source.environment !== "") {
      const overlayFile = path.join(source.directory, "environments", `${source.environment}.json`)
      const text = yield* Effect.either(read(overlayFile))
      if (Either.isLeft(text)) return Either.left([text.left])
      if (Option.isNone(text.right)) {
        // Not an error (an environment may need no overlay), but a misspelt one would pass unseen.
        yield* Effect.logWarning(`MODELGATE_ENV is "${source.environment}" but ${overlayFile} does not exist: gateway.json is used without an overlay`)
      }
      const overlay = Option.isNone(text.right) ? Either.right<unknown>({}) : parseJson(overlayFile, text.right.value)
      if (Either.isLeft(overlay)) return Either.left([overlay.left])
      merged = deepMerge(base.right, overlay.right)
      const errors = Either.match(decodeAll(GatewayConfigData, overlayFile, deepMerge(encodedDefaults, merged)), { onLeft: (e) => e, onRight: () => [] })
      if (errors.length > 0) return Either.left(errors)
    }

    return yield* withEnv(merged)
  })

/**
 * `document` (the merged files) with the environment overrides applied over
 * it, decoded: every malformed variable, and every problem at a value a
 * variable sets, is attributed to that variable.
 */
const withEnv = (document: unknown) =>
  Effect.map(readEnv, (env): Either.Either<GatewayConfigData, ReadonlyArray<ConfigError>> => {
    const full = env.values.reduce((doc, { override, value }) => setPath(doc, override.path, value), deepMerge(encodedDefaults, document))
    const decoded = decodeAll(GatewayConfigData, "environment", full).pipe(
      Either.mapLeft((errors) =>
        errors.map((e) => {
          const culprit = env.values.find(({ override }) => startsWith(e.path, override.path))
          return culprit ? new ConfigError({ file: envFile(culprit.override.variable), path: e.path, reason: e.reason }) : e
        })
      )
    )
    if (env.errors.length === 0) return decoded
    return Either.left([...env.errors, ...(Either.isLeft(decoded) ? decoded.left : [])])
  })

/**
 * The problems of the environment variables alone (applied over the
 * defaults): what `validate` lists when the files themselves are invalid.
 */
export const envProblems: Effect.Effect<ReadonlyArray<ConfigError>> = Effect.map(
  withEnv({}),
  Either.match({ onLeft: (errors) => errors.filter((e) => e.file.startsWith("environment variable ")), onRight: () => [] })
)

/**
 * Decode the configuration: the config, or a `ConfigError` for its first
 * problem. A directory that does not exist is that problem ("directory not
 * found", naming it): a mistyped `--config` or `MODELGATE_CONFIG_DIR` must not
 * read as the defaults (`gateway.json` is optional, the directory is not).
 */
export const load = (source: Source): Effect.Effect<GatewayConfigData, ConfigError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    // "" is the working directory (`path.join("", "gateway.json")` is `gateway.json`).
    const there = yield* fs.exists(source.directory === "" ? "." : source.directory).pipe(
      Effect.mapError((e) => new ConfigError({ file: source.directory, path: "", reason: `cannot read: ${e.message}` }))
    )
    if (!there) return yield* new ConfigError({ file: source.directory, path: "", reason: "directory not found" })
    const all = yield* loadAll(source)
    return yield* Either.match(all, { onLeft: (errors) => Effect.fail(firstError(errors, source.directory)), onRight: Effect.succeed })
  })

/**
 * `load` for a running gateway: the first run reads whatever is there (a
 * missing `gateway.json` means the defaults), and every later run refuses a
 * file that was there at the last successful run and is gone now (deleted,
 * or half-way through an editor's delete-then-write save), naming it, so the
 * running configuration stays instead of falling back to the defaults (no
 * budgets, no virtual keys, default endpoints). Write `{}` to go back to the
 * defaults.
 */
export const loadKeepingFiles = (
  source: Source
): Effect.Effect<Effect.Effect<GatewayConfigData, ConfigError, FileSystem.FileSystem | Path.Path>, never, Path.Path> =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const files = [
      path.join(source.directory, "gateway.json"),
      ...(source.environment !== undefined && source.environment !== "" ? [path.join(source.directory, "environments", `${source.environment}.json`)] : [])
    ]
    const exists = (file: string) =>
      Effect.flatMap(FileSystem.FileSystem, (fs) => fs.exists(file)).pipe(
        Effect.mapError((e) => new ConfigError({ file, path: "", reason: `cannot read: ${e.message}` }))
      )
    let present: ReadonlyArray<string> = []
    return Effect.gen(function* () {
      for (const file of present) {
        if (!(yield* exists(file))) {
          return yield* new ConfigError({ file, path: "", reason: "file not found (it was there at the last load; write {} to go back to the defaults)" })
        }
      }
      const config = yield* load(source)
      present = yield* Effect.filter(files, exists)
      return config
    })
  })
