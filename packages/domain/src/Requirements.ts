/**
 * What a request needs from a model: capabilities, priority, cost and latency caps.
 */
import { Schema } from "effect"
import { Capability } from "./Model.js"

/** Request priority; HIGH and CRITICAL favour quality, LOW favours cost. */
export const Priority = Schema.Literal("LOW", "MEDIUM", "HIGH", "CRITICAL")
export type Priority = typeof Priority.Type

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
