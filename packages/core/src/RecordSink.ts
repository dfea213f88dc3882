/**
 * RecordSink: where cost, performance, health, rate-limit, failover, quality
 * and budget records go. The live sink (ResponseCache/CostTracker issue) is a
 * bounded write-behind queue into SQL; the memory sink keeps them in a Ref.
 */
import type { GatewayRecord } from "@modelgate/domain/Records"
import { Context, Effect, Layer, Ref } from "effect"

/** Accepts records without waiting on disk. */
export class RecordSink extends Context.Tag("@modelgate/core/RecordSink")<
  RecordSink,
  {
    /** Queue a record. Cost records apply back-pressure when the queue is full; others may be dropped (logged). */
    readonly offer: (record: GatewayRecord) => Effect.Effect<void>
    /**
     * `offer` from the step that calls it: the record is taken when called,
     * and the answer is `Effect.void` itself when it was queued at once (the
     * caller may skip its step). Optional: callers fall back to `offer`.
     */
    readonly offerNow?: (record: GatewayRecord) => Effect.Effect<void>
  }
>() {}

/** A sink that keeps every record in memory, for tests and for running without a database. */
export class MemoryRecords extends Context.Tag("@modelgate/core/RecordSink/MemoryRecords")<
  MemoryRecords,
  {
    /** Every record offered so far, in order. */
    readonly all: Effect.Effect<ReadonlyArray<GatewayRecord>>
  }
>() {}

/** A memory sink plus the accessor to read back what was offered. */
export const layerMemory: Layer.Layer<RecordSink | MemoryRecords> = Layer.effectContext(
  Effect.gen(function* () {
    const ref = yield* Ref.make<ReadonlyArray<GatewayRecord>>([])
    return Context.make(RecordSink, { offer: (record) => Ref.update(ref, (all) => [...all, record]) }).pipe(
      Context.add(MemoryRecords, { all: Ref.get(ref) })
    )
  })
)
