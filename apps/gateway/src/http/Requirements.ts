/**
 * Task requirements and request options from a chat request: the optional
 * `modelgate` object of the body, then the `x-modelgate-*` headers for what the
 * body does not say.
 */
import type { RequestOptions } from "@modelgate/core/Gateway"
import { impliedCapabilities } from "@modelgate/core/ModelSelector/RequestInput"
import type { ChatRequest } from "@modelgate/domain/Chat"
import { Capability } from "@modelgate/domain/Model"
import { defaultRequirements, Label, labelTooLong, maxLabelLength, Priority, type TaskRequirements } from "@modelgate/domain/Requirements"
import { type Effect, Either, Schema } from "effect"
import { type ApiError, invalidRequest } from "./ApiError.js"
import { decoder, nestedDeeper, nestedTooDeep } from "./Body.js"

/** Every allowed value and the one received, as the headers' errors say it: `expected one of A, B, got "x"`. */
const oneOf = <S extends Schema.Schema.Any & { readonly literals: ReadonlyArray<string> }>(schema: S): S =>
  schema.annotations({
    // `override`: a union's own message, not its members' ("Expected "LOW", actual ..." for the first one only).
    message: (issue) => ({
      message: `expected one of ${schema.literals.join(", ")}, got ${JSON.stringify(issue.actual) ?? String(issue.actual)}`,
      override: true
    })
  }) as S

/** The `modelgate` object a client may add to a chat request body. */
export const ModelgateOptions = Schema.Struct({
  capabilities: Schema.optional(Schema.Array(oneOf(Capability))),
  priority: Schema.optional(oneOf(Priority)),
  maxCostUsd: Schema.optional(Schema.Number.pipe(Schema.finite(), Schema.nonNegative())),
  maxLatencyMs: Schema.optional(Schema.Number.pipe(Schema.finite(), Schema.positive())),
  minContextWindow: Schema.optional(Schema.Int.pipe(Schema.positive())),
  agentType: Schema.optional(Label),
  taskType: Schema.optional(Label)
})
export type ModelgateOptions = typeof ModelgateOptions.Type

// Strict: a misspelt option (`maxCostUSD`) would otherwise be dropped, and with it the cap it asked for.
const decodeOptions = decoder(ModelgateOptions, "modelgate", true)
const isPriority = Schema.is(Priority)
const isCapability = Schema.is(Capability)

type Headers = Readonly<Record<string, string | undefined>>

const headerPriority = (value: string | undefined): Either.Either<Priority | undefined, ApiError> => {
  if (value === undefined) return Either.right(undefined)
  const upper = value.trim().toUpperCase()
  return isPriority(upper)
    ? Either.right(upper)
    : Either.left(invalidRequest(`invalid 'x-modelgate-priority' header: expected one of ${Priority.literals.join(", ")}, got ${JSON.stringify(value)}`, "invalid_header", "x-modelgate-priority"))
}

const headerCapabilities = (value: string | undefined): Either.Either<ReadonlyArray<Capability> | undefined, ApiError> => {
  if (value === undefined) return Either.right(undefined)
  const names = value.split(",").map((s) => s.trim().toLowerCase()).filter((s) => s !== "")
  const unknown = names.filter((n) => !isCapability(n))
  return unknown.length > 0
    ? Either.left(
      invalidRequest(
        `invalid 'x-modelgate-capabilities' header: unknown capabilit${unknown.length > 1 ? "ies" : "y"} ${unknown.join(", ")} (known: ${Capability.literals.join(", ")})`,
        "invalid_header",
        "x-modelgate-capabilities"
      )
    )
    : Either.right(names as ReadonlyArray<Capability>)
}

const nonEmpty = (value: string | undefined): string | undefined => {
  const trimmed = value?.trim()
  return trimmed === undefined || trimmed === "" ? undefined : trimmed
}

/** An agent or task type header: undefined when absent or blank, a 400 over `maxLabelLength` characters. */
const headerLabel = (headers: Headers, name: string): Either.Either<string | undefined, ApiError> => {
  const value = nonEmpty(headers[name])
  return value === undefined || value.length <= maxLabelLength
    ? Either.right(value)
    : Either.left(invalidRequest(`invalid '${name}' header: ${labelTooLong(value.length)}`, "invalid_header", name))
}

const noHeaders = (headers: Headers) =>
  headers["x-modelgate-priority"] === undefined && headers["x-modelgate-capabilities"] === undefined &&
  headers["x-modelgate-agent-type"] === undefined && headers["x-modelgate-task-type"] === undefined

/** Requirements from the body's `modelgate` object (`raw`, undecoded) and the headers; the body wins. */
export const requirementsFrom = (raw: unknown, headers: Headers): Either.Either<TaskRequirements, ApiError> => {
  if (raw === undefined && noHeaders(headers)) return Either.right(defaultRequirements)
  return Either.gen(function* () {
    if (nestedDeeper(raw)) return yield* Either.left(nestedTooDeep("modelgate"))
    const body = raw === undefined ? {} : yield* decodeOptions(raw)
    const priority = body.priority ?? (yield* headerPriority(headers["x-modelgate-priority"]))
    const capabilities = body.capabilities ?? (yield* headerCapabilities(headers["x-modelgate-capabilities"]))
    const agentType = body.agentType ?? (yield* headerLabel(headers, "x-modelgate-agent-type"))
    const taskType = body.taskType ?? (yield* headerLabel(headers, "x-modelgate-task-type"))
    const requirements: {
      -readonly [K in keyof TaskRequirements]: TaskRequirements[K]
    } = { capabilities: capabilities ?? [], priority: priority ?? "MEDIUM" }
    if (body.maxCostUsd !== undefined) requirements.maxCostPerRequestUsd = body.maxCostUsd
    if (body.maxLatencyMs !== undefined) requirements.maxLatencyMs = body.maxLatencyMs
    if (body.minContextWindow !== undefined) requirements.minContextWindow = body.minContextWindow
    if (agentType !== undefined) requirements.agentType = agentType
    if (taskType !== undefined) requirements.taskType = taskType
    return requirements
  })
}

/**
 * Request options from the headers: the request id and `x-modelgate-cache-ttl`
 * (seconds; 0 bypasses the cache), with the server's `closing` (its shutdown) and whether the
 * request's virtual key no longer lets it in (`RequestOptions.keyRevoked`: it ends the request's wait) when given.
 */
export const optionsFrom = (
  requestId: string,
  headers: Headers,
  closing?: Effect.Effect<void>,
  keyRevoked?: () => boolean
): Either.Either<RequestOptions, ApiError> => {
  const ttl = headers["x-modelgate-cache-ttl"]
  if (ttl === undefined) return Either.right({ requestId, closing, keyRevoked })
  const seconds = Number(ttl.trim())
  if (ttl.trim() === "" || !Number.isFinite(seconds) || seconds < 0) {
    return Either.left(
      invalidRequest(`invalid 'x-modelgate-cache-ttl' header: expected a number of seconds >= 0, got ${JSON.stringify(ttl)}`, "invalid_header", "x-modelgate-cache-ttl")
    )
  }
  return Either.right({ requestId, cacheTtlMs: Math.round(seconds * 1000), closing, keyRevoked })
}

/** What of a virtual key binds a request: its agent type and its allowed models. */
export interface KeyBinding {
  readonly agentType?: string | undefined
  readonly models?: ReadonlyArray<string> | undefined
}

/**
 * Requirements as a virtual key binds them: its `agentType` replaces the one
 * the request states (a team's spending is accounted to the team), its
 * `models` are the only ones that may serve.
 */
export const boundBy = (requirements: TaskRequirements, key: KeyBinding): TaskRequirements => ({
  ...requirements,
  ...(key.agentType === undefined ? {} : { agentType: key.agentType }),
  ...(key.models === undefined ? {} : { allowedModels: key.models })
})

/**
 * Capabilities the request itself needs (`impliedCapabilities`: tools, a JSON
 * format, a stream, images), added when the model is `auto`. An explicitly
 * named model is not second-guessed (its fallbacks are, by the selector).
 */
export const withImplied = (request: ChatRequest, requirements: TaskRequirements): TaskRequirements => {
  if (request.model !== "auto") return requirements
  const missing = impliedCapabilities(request).filter((c) => !requirements.capabilities.includes(c))
  return missing.length === 0 ? requirements : { ...requirements, capabilities: [...requirements.capabilities, ...missing] }
}
