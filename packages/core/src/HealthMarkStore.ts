/**
 * HealthMarkStore: the models each gateway instance on one database finds
 * unavailable, shared so that the others stop sending them requests too,
 * instead of each instance spending its own failed calls (and, for a
 * provider that hangs, its users' timeouts) to learn it. The health
 * checker's sync (`HealthChecker/Sync.ts`) writes this instance's marks and
 * reads the others' every `healthCheck.syncIntervalMs`. A memory version
 * lives here (tests, one process); the SQL version is
 * `@modelgate/sql/HealthMarkStoreSql`.
 */
import type { StoreError } from "@modelgate/domain/Errors"
import { Context, Effect, Layer } from "effect"

/** One model an instance found unavailable: since when, why, and when it probes it next. */
export interface HealthMark {
  readonly model: string
  /** When the instance last found it unavailable (its last check, epoch ms): a check of another instance after it says more. */
  readonly since: number
  readonly reason: string
  /** When the instance probes it next (epoch ms; undefined: no probe scheduled). */
  readonly nextProbeAt: number | undefined
}

/** A mark as the others read it: with the instance that wrote it. */
export interface InstanceHealthMark extends HealthMark {
  readonly instance: string
}

/** Health marks shared between instances. */
export class HealthMarkStore extends Context.Tag("@modelgate/core/HealthMarkStore")<
  HealthMarkStore,
  {
    /**
     * Replace all of `instance`'s marks by `marks`, written at `at` (epoch
     * ms): a model it no longer names is available again as far as it knows.
     */
    readonly put: (instance: string, marks: ReadonlyArray<HealthMark>, at: number) => Effect.Effect<void, StoreError>
    /** Every OTHER instance's marks written after `since` (a mark not written again since then is stale: its instance stopped). */
    readonly others: (instance: string, since: number) => Effect.Effect<ReadonlyArray<InstanceHealthMark>, StoreError>
    /** Delete `instance`'s marks (it stops). */
    readonly leave: (instance: string) => Effect.Effect<void, StoreError>
  }
>() {}

/** An in-process store (one process, several instances: tests). */
export const makeMemory = Effect.sync(() => {
  const byInstance = new Map<string, { readonly at: number; readonly marks: ReadonlyArray<HealthMark> }>()
  return HealthMarkStore.of({
    put: (instance, marks, at) => Effect.sync(() => void byInstance.set(instance, { at, marks })),
    others: (instance, since) =>
      Effect.sync(() =>
        [...byInstance].flatMap(([other, { at, marks }]) =>
          other === instance || at <= since ? [] : marks.map((mark) => ({ ...mark, instance: other }))
        )
      ),
    leave: (instance) => Effect.sync(() => void byInstance.delete(instance))
  })
})

/** The in-memory store: instances in one process that provide the same layer build share it. */
export const layerMemory: Layer.Layer<HealthMarkStore> = Layer.effect(HealthMarkStore, makeMemory)
