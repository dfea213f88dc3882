/**
 * InstanceId: which gateway process this is, among the instances that share
 * one database. The SQL record store writes it on every cost record it stores
 * (`cost_records.instance`); the `CostTracker` counts its own spend in memory
 * and reads back only what the OTHER instances stored (`CostStore.spendByWriter`).
 *
 * A `Context.Reference`: its default is one random UUID per process, read by
 * the record store and the tracker alike without any wiring, so an
 * application that provides nothing gets one consistent id. Provide another
 * (`layer`, or `Layer.succeed(InstanceId, id)`) to run several instances in
 * one process (tests). Never give two live instances, or two runs, the same
 * id: a run counts the stored rows of its id as its own spend only at start.
 */
import { Context, Effect, Layer } from "effect"
import * as crypto from "node:crypto"

/** This gateway instance's id (default: one random UUID per process). */
export class InstanceId extends Context.Reference<InstanceId>()("@modelgate/core/InstanceId", {
  defaultValue: (): string => crypto.randomUUID()
}) {}

/** A new random instance id. */
export const make: Effect.Effect<string> = Effect.sync(() => crypto.randomUUID())

/** A new random instance id for what this layer is provided to (one per build). */
export const layer: Layer.Layer<InstanceId> = Layer.effect(InstanceId, make)
