/**
 * MetricsStore: metric aggregates over the stored records, as mergeable sums
 * per model (see `Metrics/Aggregate`). The SQL version lives in
 * `@modelgate/sql/MetricsStoreSql`; the memory version here reads the memory
 * `RecordStore`.
 */
import type { StoreError } from "@modelgate/domain/Errors"
import { Context, Effect, Layer } from "effect"
import { type Aggregate, aggregateRecords } from "./Metrics/Aggregate.js"
import type { MetricsFilter } from "./Metrics/Snapshot.js"
import { MemoryRecordStore } from "./RecordStore.js"

/** Aggregates over stored records. */
export class MetricsStore extends Context.Tag("@modelgate/core/MetricsStore")<
  MetricsStore,
  {
    /** Sums per model of the stored records that pass `filter`. */
    readonly aggregate: (filter: MetricsFilter) => Effect.Effect<Aggregate, StoreError>
  }
>() {}

/** A metrics store over the memory record store. */
export const makeMemory = Effect.gen(function* () {
  const store = yield* MemoryRecordStore
  const aggregate = Effect.fn("MetricsStore.aggregate")(function* (filter: MetricsFilter) {
    return aggregateRecords(yield* store.all, filter)
  })
  return MetricsStore.of({ aggregate })
})

/** The memory metrics store (needs the memory record store). */
export const layerMemory: Layer.Layer<MetricsStore, never, MemoryRecordStore> = Layer.effect(MetricsStore, makeMemory)
