/**
 * Metrics: one query API over the records, live counters and Prometheus text.
 *
 * Data flow: the record writer (`RecordWriter.layer`) calls `observe` for every
 * record it accepts, so a request is in the live counters (and in `query`
 * results) as soon as it completes, before it reaches the database. `query`
 * merges the store's aggregates with the records still waiting to be written;
 * the writer wraps each batch write in `persist`, which moves the batch from
 * "waiting" to "stored" atomically with respect to queries (no double count).
 */
import type { StoreError } from "@modelgate/domain/Errors"
import type { GatewayRecord } from "@modelgate/domain/Records"
import { Clock, Context, Effect, Layer } from "effect"
import { type Aggregate, addRecord, aggregateRecords, byModel, merge, seriesKey, toSnapshot } from "./Metrics/Aggregate.js"
import { type DurationHistogram, emptyHistogram, observeDuration, render } from "./Metrics/Prometheus.js"
import { Serving } from "./Metrics/Serving.js"
import type { MetricsFilter, MetricsSnapshot } from "./Metrics/Snapshot.js"
import { MetricsStore } from "./MetricsStore.js"

export { MetricsFilter, MetricsSnapshot, MetricsSummary, ModelMetrics, LatencySummary } from "./Metrics/Snapshot.js"

/** Metrics over live counters and stored records. */
export class Metrics extends Context.Tag("@modelgate/core/Metrics")<
  Metrics,
  {
    /** Count a record in the live counters and as waiting to be stored (the record writer calls this). */
    readonly observe: (record: GatewayRecord) => Effect.Effect<void>
    /** `observe` done when called (inside the caller's step). Optional: callers fall back to `observe`. */
    readonly observeNow?: (record: GatewayRecord) => void
    /**
     * Run `write` (the store write of `batch`); queries wait meanwhile, and on
     * success the batch stops counting as waiting.
     */
    readonly persist: <E>(batch: ReadonlyArray<GatewayRecord>, write: Effect.Effect<void, E>) => Effect.Effect<void, E>
    /** Records that will never be stored (dropped, or given up on): they stay in the live counters only. */
    readonly forget: (records: ReadonlyArray<GatewayRecord>) => Effect.Effect<void>
    /** Metrics over the stored records plus those still waiting, for a time range and filters. */
    readonly query: (filter: MetricsFilter) => Effect.Effect<MetricsSnapshot, StoreError>
    /** Metrics since this process started, from the in-memory counters only (no I/O). */
    readonly live: Effect.Effect<MetricsSnapshot>
    /** The live counters as Prometheus text exposition. */
    readonly prometheus: Effect.Effect<string>
    /**
     * `prometheus` with the availability gauge of the models `served` says yes
     * to only (the registry's enabled models: a removed or disabled model's
     * gauge would report its last value forever; its counters stay).
     * Optional: callers fall back to `prometheus`.
     */
    readonly prometheusOf?: (served: (model: string) => boolean) => Effect.Effect<string>
  }
>() {}

/** Build the metrics service over a `MetricsStore`. */
export const make = Effect.gen(function* () {
  const store = yield* MetricsStore
  // By model and provider, as `/metrics` labels its series: a model moved to another provider starts new ones.
  const liveAggregate: Aggregate = new Map()
  const latestProviders = new Map<string, string>()
  const histograms = new Map<string, DurationHistogram>()
  // Where each model is served now: its availability gauge is exposed under that provider only.
  const serving = new Serving()
  const waiting = new Set<GatewayRecord>()
  const lock = yield* Effect.makeSemaphore(1)

  const observeNow = (record: GatewayRecord): void => {
    addRecord(liveAggregate, record, latestProviders)
    serving.observe(record)
    if (record._tag === "PerformanceRecord") {
      // Its series as `addRecord` resolved it (a record naming no provider: its model's latest).
      const key = seriesKey(record.model, latestProviders.get(record.model) ?? "")
      let h = histograms.get(key)
      if (h === undefined) {
        h = emptyHistogram()
        histograms.set(key, h)
      }
      observeDuration(h, record.latencyMs)
    }
    waiting.add(record)
  }
  const observe = (record: GatewayRecord) => Effect.sync(() => observeNow(record))

  const persist = <E>(batch: ReadonlyArray<GatewayRecord>, write: Effect.Effect<void, E>) =>
    lock.withPermits(1)(
      Effect.tap(write, () =>
        Effect.sync(() => {
          for (const r of batch) waiting.delete(r)
        })
      )
    )

  const forget = (records: ReadonlyArray<GatewayRecord>) =>
    Effect.sync(() => {
      for (const r of records) waiting.delete(r)
    })

  const query = Effect.fn("Metrics.query")(function* (filter: MetricsFilter) {
    const [stored, pending] = yield* lock.withPermits(1)(
      Effect.zip(store.aggregate(filter), Effect.sync(() => aggregateRecords([...waiting], filter)))
    )
    return toSnapshot(merge(stored, pending), filter, "store", yield* Clock.currentTimeMillis)
  })

  const live = Effect.map(Clock.currentTimeMillis, (now) => toSnapshot(byModel(liveAggregate, latestProviders), {}, "live", now))

  const prometheusOf = (served: (model: string) => boolean) =>
    Effect.sync(() => render(liveAggregate, histograms, (model) => serving.providerOf(model), served))
  const prometheus = prometheusOf(() => true)

  return Metrics.of({ observe, observeNow, persist, forget, query, live, prometheus, prometheusOf })
})

/** The metrics service (needs a `MetricsStore`). */
export const layer: Layer.Layer<Metrics, never, MetricsStore> = Layer.effect(Metrics, make)
