/**
 * What a request needs from a model: capabilities, priority, cost and latency caps.
 */
import { Schema } from "effect"
import { Capability } from "./Model.js"

/** Request priority; HIGH and CRITICAL favour quality, LOW favours cost. */
export const Priority = Schema.Literal("LOW", "MEDIUM", "HIGH", "CRITICAL")
export type Priority = typeof Priority.Type

/**
 * The most characters an agent or task type a request names may have (a
 * virtual key's `agentType`, which replaces it, too). Each request's names
 * outlive it in bounded counts (its `ModelSelected` in a slow `/v1/events`
 * subscriber's buffer, its records in the writer's queue, the evaluator's
 * tracks): bounded in length too, those stay bounded in bytes.
 */
export const maxLabelLength = 256

/** What a label over `maxLabelLength` characters is told (the value itself not echoed: it may be long, or a secret). */
export const labelTooLong = (length: number): string => `at most ${maxLabelLength} characters, got ${length}`

/** An agent or task type: non-empty, trimmed, at most `maxLabelLength` characters (the value not echoed). */
export const Label = Schema.NonEmptyTrimmedString.pipe(
  Schema.maxLength(maxLabelLength, { message: (issue) => labelTooLong(typeof issue.actual === "string" ? issue.actual.length : 0) })
)

/** The hard and soft requirements the selector ranks models against. */
export const TaskRequirements = Schema.Struct({
  capabilities: Schema.optionalWith(Schema.Array(Capability), { default: () => [] }),
  priority: Schema.optionalWith(Priority, { default: () => "MEDIUM" as const }),
  maxCostPerRequestUsd: Schema.optional(Schema.Number.pipe(Schema.nonNegative())),
  maxLatencyMs: Schema.optional(Schema.Number.pipe(Schema.positive())),
  minContextWindow: Schema.optional(Schema.Int.pipe(Schema.positive())),
  agentType: Schema.optional(Schema.NonEmptyTrimmedString),
  taskType: Schema.optional(Schema.NonEmptyTrimmedString),
  /** Registry ids of the only models that may serve (a virtual key's allowlist); unset: every model. */
  allowedModels: Schema.optional(Schema.Array(Schema.NonEmptyTrimmedString))
})
export type TaskRequirements = typeof TaskRequirements.Type

/** Requirements with every default applied (MEDIUM priority, no capabilities). */
export const defaultRequirements: TaskRequirements = { capabilities: [], priority: "MEDIUM" }

/** Whether `requirements` let the registry model `modelId` serve (no allowlist: every model). */
export const allowsModel = (requirements: TaskRequirements, modelId: string): boolean =>
  requirements.allowedModels === undefined || requirements.allowedModels.includes(modelId)
