/**
 * LimiterUsageStore: the rate limiter's window counts, the providers'
 * blocks and the running instances, as each gateway instance shares them
 * with the others on one database. Every instance keeps its windows in
 * memory (the request path reads nothing else); its limiter sync
 * (`RateLimiter/Sync.ts`) writes the buckets it changed and reads the
 * others' sums back every `rateLimits.syncIntervalMs`, so each window counts
 * what every instance admitted; likewise the blocks a provider's answer put
 * on a key, so no instance sends on a key another has seen refused, and a
 * mark that it runs, so each knows how many share a limit.
 *
 * A bucket is one `bucketMs` slice of a limiter key's window (a model, or a
 * model and API key: `RateLimiter.storeKey`), numbered `epoch = floor(t /
 * bucketMs)`. A memory version lives here (tests, one process); the SQL
 * version is `@modelgate/sql/LimiterUsageStoreSql`.
 */
import type { StoreError } from "@modelgate/domain/Errors"
import { Context, Effect, Layer } from "effect"

/** One bucket of one limiter key: the requests and tokens counted in it. */
export interface LimiterUsage {
  readonly key: string
  readonly epoch: number
  readonly requests: number
  readonly tokens: number
}

/** A provider's refusal of a limiter key (0 remaining, a 429): nothing is sent on it before `until` (epoch ms). */
export interface LimiterBlock {
  readonly key: string
  readonly until: number
}

/** Window counts and provider blocks shared between instances. */
export class LimiterUsageStore extends Context.Tag("@modelgate/core/LimiterUsageStore")<
  LimiterUsageStore,
  {
    /**
     * Store `instance`'s counts of these buckets of `bucketMs`, each replacing
     * what the instance stored for the same key and bucket before (one write).
     */
    readonly put: (instance: string, bucketMs: number, usage: ReadonlyArray<LimiterUsage>) => Effect.Effect<void, StoreError>
    /**
     * Every OTHER instance's counts in buckets of `bucketMs` from `fromEpoch`
     * on, summed per key and bucket (rows of other bucket lengths are left out).
     */
    readonly othersSince: (
      instance: string,
      bucketMs: number,
      fromEpoch: number
    ) => Effect.Effect<ReadonlyArray<LimiterUsage>, StoreError>
    /** Store `instance`'s provider blocks, each replacing what the instance stored for the same key before (one write). */
    readonly putBlocks: (instance: string, blocks: ReadonlyArray<LimiterBlock>) => Effect.Effect<void, StoreError>
    /** Every OTHER instance's blocks still running after `now`, the latest per key. */
    readonly othersBlocks: (instance: string, now: number) => Effect.Effect<ReadonlyArray<LimiterBlock>, StoreError>
    /** Say `instance` runs at `at` (epoch ms): one mark per instance, replaced. */
    readonly beat: (instance: string, at: number) => Effect.Effect<void, StoreError>
    /** Forget `instance`'s mark of running (it stops): the others no longer keep a share for it. */
    readonly leave: (instance: string) => Effect.Effect<void, StoreError>
    /** How many OTHER instances said they ran after `since`. */
    readonly othersRunning: (instance: string, since: number) => Effect.Effect<number, StoreError>
    /**
     * Delete every instance's buckets that ended before `before` (epoch ms),
     * of any length, its blocks that ended before it and its marks of running
     * older than it; answers how many.
     */
    readonly prune: (before: number) => Effect.Effect<number, StoreError>
  }
>() {}

/** An in-process store (one process, several instances: tests). */
export const makeMemory = Effect.sync(() => {
  interface Row extends LimiterUsage {
    readonly instance: string
    readonly bucketMs: number
  }
  const rows = new Map<string, Row>()
  const blocks = new Map<string, LimiterBlock & { readonly instance: string }>()
  const beats = new Map<string, number>()
  return LimiterUsageStore.of({
    beat: (instance, at) => Effect.sync(() => void beats.set(instance, at)),
    leave: (instance) => Effect.sync(() => void beats.delete(instance)),
    othersRunning: (instance, since) =>
      Effect.sync(() => [...beats].filter(([other, at]) => other !== instance && at > since).length),
    putBlocks: (instance, given) =>
      Effect.sync(() => {
        for (const b of given) blocks.set(JSON.stringify([instance, b.key]), { ...b, instance })
      }),
    othersBlocks: (instance, now) =>
      Effect.sync(() => {
        const latest = new Map<string, number>()
        for (const b of blocks.values()) {
          if (b.instance !== instance && b.until > now) latest.set(b.key, Math.max(latest.get(b.key) ?? 0, b.until))
        }
        return [...latest].map(([key, until]) => ({ key, until }))
      }),
    put: (instance, bucketMs, usage) =>
      Effect.sync(() => {
        for (const u of usage) rows.set(JSON.stringify([instance, u.key, bucketMs, u.epoch]), { ...u, instance, bucketMs })
      }),
    othersSince: (instance, bucketMs, fromEpoch) =>
      Effect.sync(() => {
        const sums = new Map<string, { key: string; epoch: number; requests: number; tokens: number }>()
        for (const row of rows.values()) {
          if (row.instance === instance || row.bucketMs !== bucketMs || row.epoch < fromEpoch) continue
          const id = JSON.stringify([row.key, row.epoch])
          const sum = sums.get(id)
          if (sum === undefined) sums.set(id, { key: row.key, epoch: row.epoch, requests: row.requests, tokens: row.tokens })
          else {
            sum.requests += row.requests
            sum.tokens += row.tokens
          }
        }
        return [...sums.values()]
      }),
    prune: (before) =>
      Effect.sync(() => {
        let deleted = 0
        for (const [id, row] of rows) {
          if ((row.epoch + 1) * row.bucketMs < before) {
            rows.delete(id)
            deleted++
          }
        }
        for (const [id, block] of blocks) {
          if (block.until < before) {
            blocks.delete(id)
            deleted++
          }
        }
        for (const [instance, at] of beats) {
          if (at < before) {
            beats.delete(instance)
            deleted++
          }
        }
        return deleted
      })
  })
})

/** The in-memory store: instances in one process that provide the same layer build share it. */
export const layerMemory: Layer.Layer<LimiterUsageStore> = Layer.effect(LimiterUsageStore, makeMemory)
