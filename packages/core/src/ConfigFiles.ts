/**
 * Helpers shared by the configuration loaders: read a JSON file through
 * `FileSystem`, decode it with a Schema, and turn every problem into a
 * `ConfigError` that names the file, the path inside it and the reason.
 */
import { FileSystem } from "@effect/platform"
import { ConfigError } from "@modelgate/domain/Errors"
import { Effect, Either, Option, ParseResult, Schema } from "effect"

const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/

/** `["models", 3, "pricing", "inputPerMillion"]` -> `models[3].pricing.inputPerMillion`. */
export const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>((acc, key) => {
    if (typeof key === "number") return `${acc}[${key}]`
    const name = String(key)
    if (identifier.test(name)) return acc === "" ? name : `${acc}.${name}`
    return `${acc}[${JSON.stringify(name)}]`
  }, "")

/** Every issue of a parse error, as `{ path, message }`. */
export const parseIssues = (error: ParseResult.ParseError): ReadonlyArray<{ readonly path: string; readonly message: string }> =>
  ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => ({
    path: formatPath(issue.path),
    message: issue.message
  }))

/** Parse JSON text; a syntax error becomes a `ConfigError` of `file`. */
export const parseJson = (file: string, text: string): Either.Either<unknown, ConfigError> =>
  Either.try({
    try: (): unknown => JSON.parse(text),
    catch: (cause) =>
      new ConfigError({ file, path: "", reason: `not valid JSON: ${cause instanceof Error ? cause.message : String(cause)}` })
  })

/** Decode `value` with `schema`, collecting every problem as a `ConfigError` of `file`. */
export const decodeAll = <A, I>(
  schema: Schema.Schema<A, I>,
  file: string,
  value: unknown
): Either.Either<A, ReadonlyArray<ConfigError>> =>
  Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "ignore" })(value).pipe(
    Either.mapLeft((error) => parseIssues(error).map((issue) => new ConfigError({ file, path: issue.path, reason: issue.message })))
  )

/** The first of several problems, its reason noting how many more there are. */
export const firstError = (errors: ReadonlyArray<ConfigError>, file: string): ConfigError => {
  const first = errors[0]
  if (first === undefined) return new ConfigError({ file, path: "", reason: "invalid" })
  return errors.length === 1
    ? first
    : new ConfigError({ file: first.file, path: first.path, reason: `${first.reason} (and ${errors.length - 1} more problem(s))` })
}

/** Read a text file; `Option.none()` when it does not exist, a `ConfigError` when it cannot be read. */
export const readOptional = (file: string): Effect.Effect<Option.Option<string>, ConfigError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const exists = yield* fs.exists(file).pipe(
      Effect.mapError((e) => new ConfigError({ file, path: "", reason: `cannot read: ${e.message}` }))
    )
    if (!exists) return Option.none()
    return yield* fs.readFileString(file).pipe(
      Effect.map(Option.some),
      Effect.mapError((e) => new ConfigError({ file, path: "", reason: `cannot read: ${e.message}` }))
    )
  })

/** Read a text file that must exist. */
export const readRequired = (file: string): Effect.Effect<string, ConfigError, FileSystem.FileSystem> =>
  Effect.flatMap(readOptional(file), (text) =>
    Option.match(text, {
      onNone: () => Effect.fail(new ConfigError({ file, path: "", reason: "file not found" })),
      onSome: Effect.succeed
    })
  )
