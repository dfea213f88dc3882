/**
 * Rate limits across gateway instances on one database. Each instance admits
 * on its own windows in memory (the request path reads nothing else); this
 * sync, every `rateLimits.syncIntervalMs`, writes the buckets whose counts
 * changed since it last wrote them (`LimiterUsageStore.put`) and reads the
 * other instances' counts of the window back (`othersSince`), each read
 * replacing the last (`SlidingWindow.setShared`), so a window counts what
 * every instance admitted and a limit holds across them: over it by at most
 * what the others admitted since their last write, a sync interval's worth
 * (1 s by default, against a 60 s window). The provider's own rate-limit
 * headers and 429s still stop anything beyond.
 *
 * A sync runs at start (a restarted instance learns the window at once), then
 * one after another, each started an interval after the last one ended. A
 * failed write is written again at the next sync (its buckets stay "changed");
 * a failed read keeps the last counts read; a run of failures is logged
 * once. Buckets that have left the window are deleted from the store once a
 * window (by whichever instance, any instance's). Only an in-process
 * `LimiterStore` (with `forEachState`) syncs: a remote one is already shared.
 *
 * Bursts: a sync says how many instances run (each marks itself at each
 * sync; one that has not for `runningForMs`, or three intervals, no longer
 * counts). While several run, each admits between two syncs at most its share
 * (`1 / instances`) of the room the window had left at the first
 * (`SlidingWindow.SharedCounts`), so a burst reaching every instance at once,
 * after a quiet spell, is not admitted whole by each: together they admit
 * about the room there was (over it only by what the others admitted since
 * their last write, each at most its share), not once per instance. An
 * instance that alone gets the traffic reaches the limit over a few syncs
 * (its share of what is left at each), but for the last `instances - 1`
 * requests of a full window, which wait for earlier ones to leave it. While
 * the store fails, each instance keeps to its last share.
 *
 * Provider blocks (the provider said 0 remaining, or refused with a 429) are
 * shared the same way: a key another instance saw refused is refused here
 * too until the provider's reset, so no instance sends on it meanwhile (and
 * learns of it from a 429 of its own).
 */
import type { StoreError } from "@modelgate/domain/Errors"
import { Clock, Effect, Stream } from "effect"
import { everyInterval, quietly, undoAtStop } from "../internal/periodicSync.js"
import type { GatewayConfig } from "../GatewayConfig.js"
import type { LimiterBlock, LimiterUsage, LimiterUsageStore } from "../LimiterUsageStore.js"
import type { LimiterStore } from "./LimiterStore.js"
import { asIs, type SharedNames } from "./SharedNames.js"
import { BUCKETS, type BucketCount, bucketMsOf, ownCounts } from "./SlidingWindow.js"

/** How long an instance counts as running after it last said so (at least three sync intervals). */
export const runningForMs = 10_000

/** The sync of one limiter's windows with the other instances'. */
export const make = (options: {
  readonly store: LimiterStore["Type"]
  readonly usage: LimiterUsageStore["Type"]
  readonly instance: string
  readonly gatewayConfig: GatewayConfig["Type"]
  /** The interval when `rateLimits.syncIntervalMs` is unset (none: no sync then). */
  readonly defaultSyncIntervalMs?: number | undefined
  /** Told of each block another instance shared (a key window's: the limiter then reads that model's key windows). */
  readonly onSharedBlock?: ((key: string, until: number) => void) | undefined
  /** How keys are named in the store (default: as here; `SharedNames.make` shares key windows by the key's fingerprint). */
  readonly names?: SharedNames | undefined
}) => {
  const { gatewayConfig, instance, store, usage } = options
  const { fromShared, toShared } = options.names ?? asIs
  const forEachState = store.forEachState
  const setShared = store.setShared

  /** What this instance last wrote, by key and bucket (`bucketMs` of `sentFor`). */
  let sent = new Map<string, Map<number, BucketCount>>()
  let sentFor = 0
  /** The provider blocks this instance last wrote, by key. */
  let sentBlocks = new Map<string, number>()
  /** Keys whose windows hold the others' counts or blocks (cleared when a read no longer names them). */
  let sharedKeys = new Set<string>()
  let prunedAt = -Infinity
  /** Whether the last sync saw other instances running (every window then holds a share). */
  let sharedBefore = false
  /** How many instances the last sync saw running (0: no sync yet); a change is logged. */
  let running = 0
  /** Whether this instance marked itself running (and must say it stops). */
  let marked = false

  /** The own buckets of the window and own blocks that changed since last written (and the bookkeeping to keep once written). */
  const changes = (bucketMs: number, fromEpoch: number, now: number) => {
    const rows: Array<LimiterUsage> = []
    const next = new Map<string, Map<number, BucketCount>>()
    const blocks: Array<LimiterBlock> = []
    const nextBlocks = new Map<string, number>()
    const keys: Array<string> = []
    const before = sentFor === bucketMs ? sent : new Map<string, Map<number, BucketCount>>()
    forEachState!((key, state) => {
      keys.push(key)
      if (state.blockedUntil > now) {
        if (sentBlocks.get(key) !== state.blockedUntil) blocks.push({ key: toShared(key), until: state.blockedUntil })
        nextBlocks.set(key, state.blockedUntil)
      }
      if (state.bucketMs !== bucketMs) return
      const last = before.get(key)
      const kept = new Map<number, BucketCount>()
      for (const count of ownCounts(state, fromEpoch)) {
        const was = last?.get(count.epoch)
        const changed = was === undefined
          ? count.requests !== 0 || count.tokens !== 0
          : was.requests !== count.requests || was.tokens !== count.tokens
        if (changed) rows.push({ key: toShared(key), ...count })
        kept.set(count.epoch, count)
      }
      if (kept.size > 0) next.set(key, kept)
    })
    return { rows, next, blocks, nextBlocks, keys }
  }

  /**
   * Write the changed buckets and blocks and that this instance runs; read the
   * others' and how many run; set them, and this instance's share, on the
   * windows; prune once a window.
   */
  const syncOnce: Effect.Effect<void, StoreError> = Effect.gen(function* () {
    const settings = (yield* gatewayConfig.get).rateLimits
    const { windowMs } = settings
    const intervalMs = settings.syncIntervalMs ?? options.defaultSyncIntervalMs ?? 1_000
    const bucketMs = bucketMsOf(windowMs)
    const now = yield* Clock.currentTimeMillis
    const fromEpoch = Math.floor(now / bucketMs) - BUCKETS
    const { blocks, keys: ownKeys, next, nextBlocks, rows } = changes(bucketMs, fromEpoch, now)
    yield* usage.beat(instance, now)
    marked = true
    if (rows.length > 0) yield* usage.put(instance, bucketMs, rows)
    sent = next
    sentFor = bucketMs
    if (blocks.length > 0) yield* usage.putBlocks(instance, blocks)
    sentBlocks = nextBlocks
    const others = yield* usage.othersSince(instance, bucketMs, fromEpoch)
    const blocked = new Map<string, number>()
    for (const b of yield* usage.othersBlocks(instance, now)) {
      const key = fromShared(b.key)
      if (key !== undefined) blocked.set(key, b.until)
    }
    const instances = 1 + (yield* usage.othersRunning(instance, now - Math.max(3 * intervalMs, runningForMs)))
    const byKey = new Map<string, Array<BucketCount>>()
    for (const { key: shared, ...count } of others) {
      const key = fromShared(shared)
      if (key === undefined) continue
      const counts = byKey.get(key)
      if (counts === undefined) byKey.set(key, [count])
      else counts.push(count)
    }
    // The windows may have moved to another length while the store answered: set nothing then.
    const current = bucketMsOf((yield* gatewayConfig.get).rateLimits.windowMs)
    if (current !== bucketMs) return
    const at = yield* Clock.currentTimeMillis
    // With others running, every window gets this instance's share (and loses it once it runs alone
    // again); alone, only those the others used or blocked are set.
    const touched = new Set([...byKey.keys(), ...blocked.keys(), ...(instances > 1 ? ownKeys : [])])
    const share = { instances, now: at, refreshAt: at + intervalMs }
    store.shareNew?.(share)
    const keys = new Set([...sharedKeys, ...touched, ...(sharedBefore ? ownKeys : [])])
    sharedBefore = instances > 1
    for (const key of keys) setShared!(key, at, windowMs, byKey.get(key) ?? [], blocked.get(key) ?? 0, share)
    for (const [key, until] of blocked) options.onSharedBlock?.(key, until)
    sharedKeys = touched
    if (instances !== running) {
      yield* Effect.logInfo(
        instances === 1
          ? "rate limits: no other instance running on this database; this one may use each limit whole"
          : `rate limits: ${instances} instances running share each limit`
      )
      running = instances
    }
    if (at - prunedAt >= windowMs) {
      prunedAt = at
      yield* usage.prune(at - windowMs - bucketMs)
    }
  })

  /** Sync at once and then every `rateLimits.syncIntervalMs` (else the default; never while both are unset), following reloads. */
  const run: Effect.Effect<void> = forEachState === undefined || setShared === undefined
    ? Effect.void
    : everyInterval(
      Stream.map(gatewayConfig.changes, (config) => config.rateLimits.syncIntervalMs ?? options.defaultSyncIntervalMs),
      quietly(syncOnce, {
        failed:
          "rate limit sync: could not share the window counts with the other instances; limits count the last figures read until it can",
        recovered: "rate limit sync: window counts are shared again"
      }),
      { first: true }
    )

  /**
   * At stop: forget this instance's mark of running, so the others stop
   * keeping a share for it at their next sync (not `runningForMs` later).
   * Best effort: a failure or a store silent for 2 s is logged and left.
   */
  const leave = undoAtStop(() => marked, usage.leave(instance), "rate limit sync: could not say this instance stops")

  return { syncOnce, run, leave }
}
