/**
 * Helpers shared by the configuration loaders: read a JSON file through
 * `FileSystem`, decode it with a Schema, and turn every problem into a
 * `ConfigError` that names the file, the path inside it and the reason.
 */
import { FileSystem } from "@effect/platform"
import { ConfigError, withoutUrlCredentials } from "@modelgate/domain/Errors"
import { Effect, Either, Option, ParseResult, Schema } from "effect"
import { jsonSyntaxReason } from "./internal/jsonSyntaxError.js"

const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/

/** `["models", 3, "pricing", "inputPerMillion"]` -> `models[3].pricing.inputPerMillion`. */
export const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>((acc, key) => {
    if (typeof key === "number") return `${acc}[${key}]`
    const name = String(key)
    if (identifier.test(name)) return acc === "" ? name : `${acc}.${name}`
    return `${acc}[${JSON.stringify(name)}]`
  }, "")

/** Every issue of a parse error, as `{ path, message }`; a URL it quotes is shown without its credentials. */
export const parseIssues = (error: ParseResult.ParseError): ReadonlyArray<{ readonly path: string; readonly message: string }> => {
  const all = ParseResult.ArrayFormatter.formatErrorSync(error)
  // An optional field is `X | undefined`: its "Expected undefined" branch only repeats the real failure.
  const relevant = all.filter((issue) => !issue.message.startsWith("Expected undefined, actual"))
  const issues = (relevant.length > 0 ? relevant : all).map((issue) => ({
    key: issue.path,
    path: formatPath(issue.path),
    message: withoutUrlCredentials(issue.message)
  }))
  const extends_ = (longer: ReadonlyArray<PropertyKey>, shorter: ReadonlyArray<PropertyKey>) =>
    longer.length > shorter.length && shorter.every((k, i) => longer[i] === k)
  // Keep the most specific issues (a wrapper repeats its field's failure one level up), one per path.
  const byPath = new Map<string, Array<string>>()
  for (const issue of issues.filter((issue) => !issues.some((other) => extends_(other.key, issue.key)))) {
    const messages = byPath.get(issue.path) ?? []
    if (!messages.includes(issue.message)) messages.push(issue.message)
    byPath.set(issue.path, messages)
  }
  return [...byPath].map(([path, messages]) => ({ path, message: combine(messages) }))
}

/** `Expected "a", actual "x"` + `Expected "b", actual "x"` -> `Expected "a" | "b", actual "x"` (a union's branches). */
const combine = (messages: ReadonlyArray<string>): string => {
  const parsed = messages.map((m) => /^Expected (.*), actual (.*)$/s.exec(m))
  const actual = parsed[0]?.[2]
  if (messages.length > 1 && parsed.every((p) => p !== null && p[2] === actual)) {
    return `Expected ${parsed.map((p) => p?.[1]).join(" | ")}, actual ${actual}`
  }
  return messages.join("; ")
}

/** Parse JSON text; a syntax error becomes a `ConfigError` of `file`, which quotes none of the text. */
export const parseJson = (file: string, text: string): Either.Either<unknown, ConfigError> =>
  Either.try({
    try: (): unknown => JSON.parse(text),
    catch: (cause) =>
      new ConfigError({
        file,
        path: "",
        reason: `not valid JSON: ${jsonSyntaxReason(text, cause instanceof Error ? cause.message : String(cause))}`
      })
  })

/** Decode `value` with `schema`, collecting every problem as a `ConfigError` of `file`. */
export const decodeAll = <A, I>(
  schema: Schema.Schema<A, I>,
  file: string,
  value: unknown
): Either.Either<A, ReadonlyArray<ConfigError>> =>
  Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "error" })(value).pipe(
    Either.mapLeft((error) => parseIssues(error).map((issue) => new ConfigError({ file, path: issue.path, reason: issue.message })))
  )

/** The first of several problems, its reason noting how many more there are. */
export const firstError = (errors: ReadonlyArray<ConfigError>, file: string): ConfigError => {
  const first = errors[0]
  if (first === undefined) return new ConfigError({ file, path: "", reason: "invalid" })
  return errors.length === 1
    ? first
    : new ConfigError({ ...first, reason: `${first.reason} (and ${errors.length - 1} more problem(s))` })
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
