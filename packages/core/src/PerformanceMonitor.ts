/**
 * PerformanceMonitor: latency, time to first token, success rate and tokens/s
 * per model over rolling windows; degradation alerts.
 *
 * The selector reads `modelPerformance`; the gateway calls `record`.
 *
 * Windows (config `performance`): "recent" is the last `recentRequests` calls
 * that are also within `recentWindowMs`, with exact percentiles; the baseline is
 * `[now - baselineWindowMs, now - recentWindowMs)` in 60 time slots with
 * log-bucket histograms (quantile relative error at most 2.47%). Cache hits,
 * and failures that are the request's, its key's or its client's fault
 * (BadRequest, ContextLengthExceeded, ContentFiltered, Unauthorized,
 * Interrupted), are offered to the RecordSink but left out of the statistics
 * (they say nothing about the model: `PerformanceMonitor/Counted.ts`). Tokens per second = output tokens / total latency of
 * successful calls that produced tokens.
 *
 * Degradation is checked after each record of a model, once the recent window
 * has `minRecentSamples` calls and the baseline `minBaselineSamples`:
 * latency is degraded when recent p50 or p95 exceeds the baseline's times
 * `latencyDegradationFactor` (the p95 once the recent window has
 * `minTailSamples` (20) successful calls: with fewer it is the slowest call,
 * and one cold-start outlier would be a degradation); error rate when it exceeds the baseline's by
 * `errorRateDegradation` or more. A degraded metric recovers once back under
 * half that excess (p50 and p95 within `1 + (factor - 1) / 2` times the
 * baseline's, the error rate's rise under half `errorRateDegradation`), so a
 * model that hovers at a threshold does not flap. Each transition publishes one
 * `PerformanceDegraded` or `PerformanceRecovered`.
 *
 * A model the registry removes (with `ModelRegistry` in the context) leaves
 * nothing behind: its windows and degradation state are dropped, a call that
 * was in flight and finishes afterwards is not counted, and the same id added
 * again starts with no history (a reload that keeps the model keeps it all).
 * A model moved to another endpoint (a reload or `PATCH /admin/models` gives
 * it another provider or provider model, or a reload its provider another
 * `baseUrl`) starts over the same way: its percentiles, success rate and
 * degradation baseline were the old endpoint's; a call sent before the move
 * (its `at - latencyMs`) that finishes afterwards is recorded, not counted.
 *
 * Trials (`PerformanceMonitor/Trials.ts`): the selector claims a trial for a
 * model with few recent calls that a request goes to first; any record of the
 * model's calls settles it, and the request releases it when it is done with
 * the model without one (`Ranking.trial`).
 *
 * `record`, `modelPerformance` and `detectDegradation` are untraced: they are
 * on the request path, see bench/README.md. Statistics are cached between
 * samples (see `PerformanceMonitor/ModelWindow.ts`).
 */
import { PerformanceDegraded, PerformanceRecovered } from "@modelgate/domain/Events"
import type { PerformanceRecord } from "@modelgate/domain/Records"
import { Clock, Context, Effect, Layer, Option } from "effect"
import { Events } from "./Events.js"
import { GatewayConfig } from "./GatewayConfig.js"
import type { GatewayConfigData, PerformanceConfig } from "./GatewayConfigSchema.js"
import { followMoves } from "./internal/EndpointMoves.js"
import { followRemovals } from "./internal/followRemovals.js"
import { ModelRegistry } from "./ModelRegistry.js"
import { counted } from "./PerformanceMonitor/Counted.js"
import { ModelWindow, type RecentStats, type WindowConfig } from "./PerformanceMonitor/ModelWindow.js"
import { type TrialBook, Trials } from "./PerformanceMonitor/Trials.js"
import { RecordSink } from "./RecordSink.js"

export { relativeError as percentileRelativeError } from "./PerformanceMonitor/Histogram.js"

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

/** A degradation or recovery transition. */
export type DegradationEvent = PerformanceDegraded | PerformanceRecovered

/** Per-model performance. */
export class PerformanceMonitor extends Context.Tag("@modelgate/core/PerformanceMonitor")<
  PerformanceMonitor,
  {
    /** Record one call (offered to the RecordSink; counted unless it says nothing about the model). */
    readonly record: (record: PerformanceRecord) => Effect.Effect<void>
    /** None when there is no data for the model yet. */
    readonly modelPerformance: (model: string) => Effect.Effect<Option.Option<ModelPerformance>>
    /**
     * `modelPerformance` of several models at one instant, in order (one config
     * and clock read; the selector asks it once per ranking). Optional: callers fall back to `modelPerformance`.
     */
    readonly modelPerformances?: (models: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<Option.Option<ModelPerformance>>>
    /**
     * `record` and `modelPerformances` at `now` under `config`: the caller's
     * own reads of the clock and of `GatewayConfig` (once per request), not
     * read again. The window update runs when the member is CALLED; the
     * returned effect offers the record to the sink and publishes any
     * transition: call it where it is run, once. Optional: callers fall back to the plain methods.
     */
    readonly recordAt?: (config: GatewayConfigData, now: number, record: PerformanceRecord) => Effect.Effect<void>
    readonly modelPerformancesAt?: (
      config: GatewayConfigData,
      now: number,
      models: ReadonlyArray<string>
    ) => Effect.Effect<ReadonlyArray<Option.Option<ModelPerformance>>>
    /**
     * The trials in flight (see `PerformanceMonitor/Trials.ts`): the selector
     * claims one for a model with few recent calls that a request goes to first, and a
     * record of the model settles it (or the claim's release, for a request done
     * with the model without a record). Optional: without it, a model with few
     * calls always gets the benefit of the doubt.
     */
    readonly trials?: TrialBook
  }
>() {}

/** More of the monitor (dashboards, metrics, tests), provided by the same `layer`. */
export class PerformanceDetails extends Context.Tag("@modelgate/core/PerformanceMonitor/Details")<
  PerformanceDetails,
  {
    /** Every model with data in its recent window. */
    readonly allPerformance: Effect.Effect<ReadonlyArray<ModelPerformance>>
    /** Compare recent with baseline now; publish and return the transitions (usually none). */
    readonly detectDegradation: (model: string) => Effect.Effect<ReadonlyArray<DegradationEvent>>
    /** Whether `model` is currently degraded on latency or error rate. */
    readonly isDegraded: (model: string) => Effect.Effect<boolean>
  }
>() {}

/** Successful recent calls needed before their p95 is judged: with fewer, the nearest-rank p95 is the slowest of them. */
export const minTailSamples = 20

/** Tuning of `make`. */
export interface Options {
  /** Calls needed in the recent window before judging degradation (default 5). */
  readonly minRecentSamples?: number | undefined
  /** Calls needed in the baseline before judging degradation (default 10). */
  readonly minBaselineSamples?: number | undefined
}

/** Build the monitor and its details; it follows the registry's removals (when present) in the current scope. */
export const make = (options: Options = {}) =>
  Effect.gen(function* () {
    const gatewayConfig = yield* GatewayConfig
    const events = yield* Events
    const sink = yield* RecordSink
    const minRecent = options.minRecentSamples ?? 5
    const minBaseline = options.minBaselineSamples ?? 10
    const windows = new Map<string, ModelWindow>()

    const windowConfig = Effect.map(gatewayConfig.get, (config) => config.performance)

    /** The last answer per model, reused while its statistics object is the same (no allocation per read). */
    const answered = new Map<string, { readonly stats: RecentStats; readonly answer: Option.Option<ModelPerformance> }>()
    const trials = new Trials()

    // A model the registry removed: its state dropped, and not created again by a call that was in flight.
    const registry = yield* Effect.serviceOption(ModelRegistry)
    const removals = yield* followRemovals(registry, (present) =>
      Effect.sync(() => {
        for (const model of windows.keys()) {
          if (present.has(model)) continue
          windows.delete(model)
          answered.delete(model)
        }
        trials.forget(present)
      }))
    // A model moved to another endpoint: its figures were the old endpoint's, and a call sent there before the move is not counted.
    const moves = yield* followMoves(registry, gatewayConfig, (moved) => {
      for (const model of moved) {
        windows.delete(model)
        answered.delete(model)
      }
    })

    const performanceOf = (model: string, window: ModelWindow, now: number, config: WindowConfig): Option.Option<ModelPerformance> => {
      const stats = window.recentStats(now, config)
      if (stats === undefined) return Option.none()
      const last = answered.get(model)
      if (last !== undefined && last.stats === stats) return last.answer
      const answer = Option.some<ModelPerformance>({
        model,
        requests: stats.requests,
        successRate: stats.successes / stats.requests,
        latencyP50Ms: stats.latency.p50,
        latencyP95Ms: stats.latency.p95,
        latencyP99Ms: stats.latency.p99,
        ttftP50Ms: stats.ttftP50,
        tokensPerSecond: stats.tokensPerSecond,
        errorsByClass: stats.errorsByClass
      })
      answered.set(model, { stats, answer })
      return answer
    }

    /** Compare recent with baseline at `now`; flip the window's state and return the transitions (synchronous). */
    const judge = (model: string, window: ModelWindow, config: PerformanceConfig, now: number): Array<DegradationEvent> => {
      const transitions: Array<DegradationEvent> = []
      // The baseline first: it is cached across records, and without enough of it nothing is judged.
      const baseline = window.baselineStats(now, config)
      if (baseline.requests < minBaseline) return transitions
      const recent = window.recentStats(now, config)
      if (recent === undefined || recent.requests < minRecent) return transitions
      const transition = (metric: "latency" | "error_rate", degraded: boolean, baselineValue: number, recentValue: number) => {
        if (degraded === window.degraded[metric]) return
        window.degraded[metric] = degraded
        const fields = { at: now, model, metric, baseline: baselineValue, recent: recentValue }
        transitions.push(degraded ? PerformanceDegraded.make(fields) : PerformanceRecovered.make(fields))
      }
      // Hysteresis: a degraded metric recovers only once back under half the excess that degraded it.
      const errorRise = window.degraded.error_rate ? config.errorRateDegradation / 2 : config.errorRateDegradation
      transition(
        "error_rate",
        recent.errorRate - baseline.errorRate >= errorRise - 1e-9,
        baseline.errorRate,
        recent.errorRate
      )
      if (
        recent.successes >= minRecent &&
        baseline.latencySamples >= minBaseline &&
        baseline.latencyP50 !== undefined &&
        baseline.latencyP95 !== undefined
      ) {
        const factor = window.degraded.latency
          ? Math.min(config.latencyDegradationFactor, 1 + (config.latencyDegradationFactor - 1) / 2)
          : config.latencyDegradationFactor
        const p50Worse = recent.latency.p50 > baseline.latencyP50 * factor
        // Below `minTailSamples` calls the nearest-rank p95 is the slowest call: one cold start is no tail.
        const p95Worse = recent.latencySamples >= minTailSamples && recent.latency.p95 > baseline.latencyP95 * factor
        const [baseValue, recentValue] = !p50Worse && p95Worse
          ? [baseline.latencyP95, recent.latency.p95]
          : [baseline.latencyP50, recent.latency.p50]
        transition("latency", p50Worse || p95Worse, baseValue, recentValue)
      }
      return transitions
    }

    /** Publish and log transitions. */
    const announce = (model: string, transitions: ReadonlyArray<DegradationEvent>) =>
      Effect.forEach(
        transitions,
        (event) =>
          Effect.zipRight(
            events.publish(event),
            Effect.logWarning(`performance of ${model}: ${event._tag} on ${event.metric}`).pipe(
              Effect.annotateLogs({ baseline: event.baseline, recent: event.recent })
            )
          ),
        { discard: true }
      )

    const detectDegradation = (model: string): Effect.Effect<ReadonlyArray<DegradationEvent>> =>
      Effect.flatMap(windowConfig, (config) =>
        Effect.clockWith((clock) => {
          const window = windows.get(model)
          if (window === undefined) return Effect.succeed([])
          const transitions = judge(model, window, config, clock.unsafeCurrentTimeMillis())
          return transitions.length === 0 ? Effect.succeed(transitions) : Effect.as(announce(model, transitions), transitions)
        }))

    // The request path: the window update and the degradation check are synchronous, run in one
    // step after reading the config and the clock (a few Effect ops per record, see bench/README.md).
    const record = (record: PerformanceRecord): Effect.Effect<void> =>
      !counted(record)
        ? record.cacheHit ? sink.offer(record) : Effect.zipRight(settle(record), sink.offer(record))
        : Effect.zipRight(
        sink.offer(record),
        Effect.flatMap(windowConfig, (config) => Effect.clockWith((clock) => addStep(config, clock.unsafeCurrentTimeMillis(), record)))
      )

    /** Add a call to its model's window and judge it, in one synchronous step (runs when called). */
    const addStep = (config: PerformanceConfig, now: number, record: PerformanceRecord): Effect.Effect<void> => {
      trials.settle(record.model)
      if (moves.sentBefore(record.model, record.at - record.latencyMs)) return Effect.void
      let window = windows.get(record.model)
      if (window === undefined) {
        if (removals.gone(record.model)) return Effect.void
        window = new ModelWindow()
        windows.set(record.model, window)
      }
      window.add(
        {
          at: record.at,
          latencyMs: record.latencyMs,
          ttftMs: record.timeToFirstTokenMs,
          success: record.success,
          errorClass: record.errorClass,
          outputTokens: record.outputTokens
        },
        config
      )
      const transitions = judge(record.model, window, config, now)
      return transitions.length === 0 ? Effect.void : announce(record.model, transitions)
    }

    /** A call that does not count (not a cache hit: no call went) still ends its model's trial. */
    const settle = (record: PerformanceRecord): Effect.Effect<void> => Effect.sync(() => trials.settle(record.model))

    // Offered when called (`recordAt` runs inside the caller's step): `Effect.void` when queued at once.
    const offerNow = (record: PerformanceRecord) => sink.offerNow === undefined ? sink.offer(record) : sink.offerNow(record)

    const recordAt = (config: GatewayConfigData, now: number, record: PerformanceRecord): Effect.Effect<void> => {
      if (!counted(record)) {
        if (!record.cacheHit) trials.settle(record.model)
        return offerNow(record)
      }
      const after = addStep(config.performance, now, record)
      // The sink first, as `record` does; then any transition.
      const offered = offerNow(record)
      if (after === Effect.void) return offered
      return offered === Effect.void ? after : Effect.zipRight(offered, after)
    }

    const none = Effect.succeed(Option.none<ModelPerformance>())
    const modelPerformance = (model: string): Effect.Effect<Option.Option<ModelPerformance>> =>
      windows.has(model)
        ? Effect.flatMap(windowConfig, (config) =>
          Effect.clockWith((clock) => {
            const window = windows.get(model)
            return window === undefined ? none : Effect.succeed(performanceOf(model, window, clock.unsafeCurrentTimeMillis(), config))
          }))
        : none

    const performancesStep = (config: PerformanceConfig, now: number, models: ReadonlyArray<string>) =>
      models.map((model) => {
        const window = windows.get(model)
        return window === undefined ? Option.none<ModelPerformance>() : performanceOf(model, window, now, config)
      })

    const modelPerformances = (models: ReadonlyArray<string>): Effect.Effect<ReadonlyArray<Option.Option<ModelPerformance>>> =>
      models.every((model) => !windows.has(model))
        ? Effect.succeed(models.map(() => Option.none()))
        : Effect.flatMap(windowConfig, (config) =>
          Effect.clockWith((clock) => Effect.succeed(performancesStep(config, clock.unsafeCurrentTimeMillis(), models))))

    const modelPerformancesAt = (config: GatewayConfigData, now: number, models: ReadonlyArray<string>) =>
      Effect.succeed(performancesStep(config.performance, now, models))

    const allPerformance = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const config = yield* windowConfig
      return [...windows].flatMap(([model, window]) => Option.toArray(performanceOf(model, window, now, config)))
    }).pipe(Effect.withSpan("PerformanceMonitor.allPerformance"))

    const isDegraded = (model: string) =>
      Effect.sync(() => {
        const window = windows.get(model)
        return window !== undefined && (window.degraded.latency || window.degraded.error_rate)
      })

    return Context.make(PerformanceMonitor, PerformanceMonitor.of({ record, modelPerformance, modelPerformances, recordAt, modelPerformancesAt, trials })).pipe(
      Context.add(PerformanceDetails, PerformanceDetails.of({ allPerformance, detectDegradation, isDegraded }))
    )
  })

/** The live monitor (and its details); with `ModelRegistry` in the context it forgets the models the registry removes. */
export const layer: Layer.Layer<PerformanceMonitor | PerformanceDetails, never, GatewayConfig | Events | RecordSink> =
  Layer.scopedContext(make())

/** A fixed table of performances, for tests of the monitor's readers; `record` does nothing. */
export const layerStatic = (table: Readonly<Record<string, ModelPerformance>>): Layer.Layer<PerformanceMonitor> =>
  Layer.succeed(
    PerformanceMonitor,
    PerformanceMonitor.of({
      record: () => Effect.void,
      modelPerformance: (model) => Effect.succeed(Option.fromNullable(table[model]))
    })
  )
