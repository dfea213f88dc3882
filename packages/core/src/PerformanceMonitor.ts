/**
 * PerformanceMonitor: latency, time to first token, success rate and tokens/s
 * per model over rolling windows; degradation alerts.
 *
 * Contract (implementation: accounting issue). The selector reads
 * `modelPerformance`; the gateway calls `record`.
 */
import type { PerformanceRecord } from "@modelgate/domain/Records"
import { Context, type Effect, type Option } from "effect"

/** A model's recent performance. */
export interface ModelPerformance {
  readonly model: string
  readonly requests: number
  /** 0..1 over the recent window. */
  readonly successRate: number
  readonly latencyP50Ms: number
  readonly latencyP95Ms: number
  readonly latencyP99Ms: number
  readonly ttftP50Ms: number | undefined
  readonly tokensPerSecond: number | undefined
  readonly errorsByClass: Readonly<Record<string, number>>
}

/** Per-model performance. */
export class PerformanceMonitor extends Context.Tag("@modelgate/core/PerformanceMonitor")<
  PerformanceMonitor,
  {
    /** Record one call (also offered to the RecordSink). */
    readonly record: (record: PerformanceRecord) => Effect.Effect<void>
    /** None when there is no data for the model yet. */
    readonly modelPerformance: (model: string) => Effect.Effect<Option.Option<ModelPerformance>>
  }
>() {}
