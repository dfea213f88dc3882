/**
 * HealthChecker: a probe fiber per model, consecutive failures, recovery,
 * backoff, history; passive signals from real traffic.
 *
 * Contract (implementation: routing issue). A model never checked yet reads as
 * `unknown` and counts as available.
 */
import type { HealthStatus } from "@modelgate/domain/Events"
import type { ProviderErrorTag } from "@modelgate/domain/ProviderError"
import { Context, type Effect, type Stream } from "effect"

/** The health of one model. */
export interface ModelHealth {
  readonly model: string
  readonly status: HealthStatus
  readonly consecutiveFailures: number
  readonly lastCheckedAt: number | undefined
  readonly lastLatencyMs: number | undefined
  readonly reason: string
}

/** Model health. */
export class HealthChecker extends Context.Tag("@modelgate/core/HealthChecker")<
  HealthChecker,
  {
    readonly status: (model: string) => Effect.Effect<ModelHealth>
    readonly isAvailable: (model: string) => Effect.Effect<boolean>
    readonly all: Effect.Effect<ReadonlyArray<ModelHealth>>
    /** Every status change. */
    readonly changes: Stream.Stream<ModelHealth>
    /** A real call succeeded. */
    readonly reportSuccess: (model: string, latencyMs: number) => Effect.Effect<void>
    /** A real call failed; only ServerError / Timeout / Transport / Overloaded count against health. */
    readonly reportFailure: (model: string, errorClass: ProviderErrorTag | string) => Effect.Effect<void>
  }
>() {}
