/**
 * `modelgate config validate [DIR]`: decode every configuration file of a
 * directory and list every problem (file, path, reason), not just the first.
 *
 * Files: `gateway.json` (optional, every field has a default), `models.json`
 * (required), `environments/<env>.json` (overlays, each checked merged over
 * `gateway.json`).
 */
import { FileSystem, Path } from "@effect/platform"
import { GatewayConfigData } from "@modelgate/core/GatewayConfigSchema"
import { ModelsFile } from "@modelgate/domain/Model"
import { Effect, Either, ParseResult, Schema } from "effect"
import { formatPath } from "../http/Body.js"

/** One problem of one file. */
export interface Problem {
  readonly file: string
  readonly path: string
  readonly reason: string
}

/** `file: path: reason`. */
export const formatProblem = (p: Problem): string => `${p.file}${p.path === "" ? "" : ` at ${p.path}`}: ${p.reason}`

const issues = <A, I>(schema: Schema.Schema<A, I>, file: string, value: unknown): Either.Either<A, ReadonlyArray<Problem>> =>
  Schema.decodeUnknownEither(schema, { errors: "all" })(value).pipe(
    Either.mapLeft((error) =>
      ParseResult.ArrayFormatter.formatErrorSync(error).map((i) => ({ file, path: formatPath(i.path), reason: i.message }))
    )
  )

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** Overlay `patch` on `base`: objects merge key by key, anything else replaces. */
export const deepMerge = (base: unknown, patch: unknown): unknown => {
  if (!isObject(base) || !isObject(patch)) return patch
  const out: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(patch)) out[key] = deepMerge(base[key], value)
  return out
}

/** Every problem of the configuration directory `dir` (empty when it is valid). */
export const validateDir = (dir: string): Effect.Effect<ReadonlyArray<Problem>, never, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const problems: Array<Problem> = []

    const readJson = (file: string, required: boolean) =>
      Effect.gen(function* () {
        const exists = yield* Effect.orElseSucceed(fs.exists(file), () => false)
        if (!exists) {
          if (required) problems.push({ file, path: "", reason: "file not found" })
          return undefined
        }
        const text = yield* Effect.either(fs.readFileString(file))
        if (Either.isLeft(text)) {
          problems.push({ file, path: "", reason: `cannot read: ${text.left.message}` })
          return undefined
        }
        try {
          return { value: JSON.parse(text.right) as unknown }
        } catch (cause) {
          problems.push({ file, path: "", reason: `not valid JSON: ${cause instanceof Error ? cause.message : String(cause)}` })
          return undefined
        }
      })

    const dirExists = yield* Effect.orElseSucceed(fs.exists(dir), () => false)
    if (!dirExists) return [{ file: dir, path: "", reason: "configuration directory not found" }]

    const gatewayFile = path.join(dir, "gateway.json")
    const gateway = yield* readJson(gatewayFile, false)
    const before = problems.length
    if (gateway !== undefined) Either.mapLeft(issues(GatewayConfigData, gatewayFile, gateway.value), (ps) => problems.push(...ps))
    const gatewayValid = problems.length === before

    const modelsFile = path.join(dir, "models.json")
    const models = yield* readJson(modelsFile, true)
    if (models !== undefined) {
      const decoded = issues(ModelsFile, modelsFile, models.value)
      if (Either.isLeft(decoded)) problems.push(...decoded.left)
      else {
        const ids = new Set<string>()
        decoded.right.models.forEach((m, i) => {
          if (ids.has(m.id)) problems.push({ file: modelsFile, path: `models[${i}].id`, reason: `duplicate model id ${m.id}` })
          ids.add(m.id)
        })
        decoded.right.models.forEach((m, i) =>
          m.fallbacks.forEach((f, j) => {
            if (!ids.has(f)) problems.push({ file: modelsFile, path: `models[${i}].fallbacks[${j}]`, reason: `unknown model id ${f}` })
          })
        )
      }
    }

    const envDir = path.join(dir, "environments")
    const entries = (yield* Effect.orElseSucceed(fs.readDirectory(envDir), () => [] as Array<string>)).filter((f) => f.endsWith(".json")).sort()
    for (const entry of entries) {
      const file = path.join(envDir, entry)
      const overlay = yield* readJson(file, false)
      if (overlay === undefined) continue
      if (!isObject(overlay.value)) {
        problems.push({ file, path: "", reason: "an environment overlay must be a JSON object" })
        continue
      }
      // Checked merged over gateway.json; when that file is itself invalid, its problems are already listed.
      const merged = gatewayValid ? deepMerge(gateway?.value ?? {}, overlay.value) : overlay.value
      Either.mapLeft(issues(GatewayConfigData, file, merged), (ps) => problems.push(...ps))
    }
    return problems
  })
