/**
 * RecordStore: where the record writer puts batches of records, in one
 * transaction per batch. The SQL version lives in `@modelgate/sql/RecordStoreSql`;
 * the memory version here also backs the memory `CostStore` and `MetricsStore`.
 */
import type { StoreError } from "@modelgate/domain/Errors"
import type { GatewayRecord } from "@modelgate/domain/Records"
import { Context, Effect, Layer, Ref } from "effect"
import { InstanceId } from "./InstanceId.js"

/** Durable storage of records. */
export class RecordStore extends Context.Tag("@modelgate/core/RecordStore")<
  RecordStore,
  {
    /** Write every record of the batch, or none of them (one transaction). */
    readonly writeBatch: (records: ReadonlyArray<GatewayRecord>) => Effect.Effect<void, StoreError>
  }
>() {}

/** Read access to the records of the memory store (tests, memory cost and metrics stores). */
export class MemoryRecordStore extends Context.Tag("@modelgate/core/RecordStore/MemoryRecordStore")<
  MemoryRecordStore,
  {
    /** Every record written so far, in write order. */
    readonly all: Effect.Effect<ReadonlyArray<GatewayRecord>>
    /** Every record written so far with the `InstanceId` of its writer, in write order. */
    readonly written: Effect.Effect<ReadonlyArray<StoredRecord>>
    /** How many batches were written. */
    readonly batches: Effect.Effect<number>
  }
>() {}

/** A record in the memory store and the instance that wrote it. */
export interface StoredRecord {
  readonly record: GatewayRecord
  readonly instance: string
}

/**
 * Build a memory store; `fail` (when given) is run before every write, so tests can script failures.
 * Each batch is stamped with its writer's `InstanceId` (read per batch: one memory store may stand
 * for the database several instances share, as in the tests of budgets across instances).
 */
export const makeMemory = <E extends StoreError>(fail?: Effect.Effect<void, E>) =>
  Effect.gen(function* () {
    const records = yield* Ref.make<ReadonlyArray<StoredRecord>>([])
    const batches = yield* Ref.make(0)
    const writeBatch = Effect.fn("RecordStore.writeBatch")(function* (batch: ReadonlyArray<GatewayRecord>) {
      if (fail !== undefined) yield* fail
      const instance = yield* InstanceId
      yield* Ref.update(records, (all) => [...all, ...batch.map((record) => ({ record, instance }))])
      yield* Ref.update(batches, (n) => n + 1)
    })
    const all = Effect.map(Ref.get(records), (stored) => stored.map((s) => s.record))
    return Context.make(RecordStore, RecordStore.of({ writeBatch })).pipe(
      Context.add(MemoryRecordStore, MemoryRecordStore.of({ all, written: Ref.get(records), batches: Ref.get(batches) }))
    )
  })

/** A memory record store plus its read accessor. */
export const layerMemory: Layer.Layer<RecordStore | MemoryRecordStore> = Layer.effectContext(makeMemory())

/** A memory record store whose writes first run `fail` (e.g. a Ref-controlled `StoreError`). */
export const layerMemoryFailing = <E extends StoreError>(
  fail: Effect.Effect<void, E>
): Layer.Layer<RecordStore | MemoryRecordStore> => Layer.effectContext(makeMemory(fail))
