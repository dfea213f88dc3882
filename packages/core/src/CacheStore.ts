/**
 * CacheStore: the persistent tier behind the ResponseCache's memory LRU.
 * A memory version lives here; the SQL version is `@modelgate/sql/CacheStoreSql`.
 *
 * Times are epoch milliseconds from the caller's Clock. An entry is expired
 * when `now >= expiresAt`.
 */
import type { ChatResponse } from "@modelgate/domain/Chat"
import type { StoreError } from "@modelgate/domain/Errors"
import { Context, Effect, Layer, Option } from "effect"

/** One cached response with its bookkeeping. */
export interface CacheEntry {
  readonly key: string
  readonly model: string
  readonly response: ChatResponse
  /** UTF-8 size of the response JSON. */
  readonly bytes: number
  readonly createdAt: number
  readonly expiresAt: number
  readonly lastAccess: number
}

/** Bounds for LRU eviction. */
export interface CacheBounds {
  readonly maxEntries: number
  readonly maxBytes: number
}

/** What a purge deletes: every entry, one model's (`model`, the registry id), or one entry (`key`). */
export interface CachePurge {
  readonly model?: string | undefined
  readonly key?: string | undefined
}

/** A purge as the store logged it, for the other instances to apply to their memory (`purgesAfter`). */
export interface LoggedPurge extends CachePurge {
  /** Increasing with each purge logged. */
  readonly id: number
}

/** How long logged purges are kept (pruned as purges are logged): far longer than any instance takes to read them. */
const purgeLogMs = 24 * 3_600_000

/** Whether `purge` covers the entry under `key` of `model`. */
export const purgeCovers = (purge: CachePurge, key: string, model: string): boolean =>
  (purge.key === undefined || purge.key === key) && (purge.model === undefined || purge.model === model)

/** Persistent storage of cached responses. */
export class CacheStore extends Context.Tag("@modelgate/core/CacheStore")<
  CacheStore,
  {
    /** The live entry under `key`; an expired one is deleted and reads as None. Bumps `lastAccess` to `now`. */
    readonly get: (key: string, now: number) => Effect.Effect<Option.Option<CacheEntry>, StoreError>
    /** Insert or replace. */
    readonly set: (entry: CacheEntry) => Effect.Effect<void, StoreError>
    /** Insert or replace every entry, in order, as one write (one transaction on SQL): the cache's write-behind batches. */
    readonly setAll: (entries: ReadonlyArray<CacheEntry>) => Effect.Effect<void, StoreError>
    /** Mark entries as used at `now` (LRU order). Unknown keys are ignored. */
    readonly touch: (keys: ReadonlyArray<string>, now: number) => Effect.Effect<void, StoreError>
    /** Delete the entry under `key` (no-op when absent). */
    readonly delete: (key: string) => Effect.Effect<void, StoreError>
    /** Delete every entry expired at `now`; returns how many. */
    readonly sweep: (now: number) => Effect.Effect<number, StoreError>
    /** Delete least recently used entries until both bounds hold; returns how many. */
    readonly evict: (bounds: CacheBounds) => Effect.Effect<number, StoreError>
    /**
     * The live entries at `now`, most recently used first, as many as fit
     * `bounds`: what the cache loads into memory at start, so the request path
     * never reads the store.
     */
    readonly recent: (bounds: CacheBounds, now: number) => Effect.Effect<ReadonlyArray<CacheEntry>, StoreError>
    /** Entry count and total bytes. */
    readonly size: Effect.Effect<{ readonly entries: number; readonly bytes: number }, StoreError>
    /**
     * The live entries at `now` written or used at or after `from`, most
     * recently used first, at most `limit`: what one of several instances
     * sharing the store reads to learn the others' answers (`ResponseCache`'s
     * sync). Optional: a store without it is not shared.
     */
    readonly usedSince?: (from: number, now: number, limit: number) => Effect.Effect<ReadonlyArray<CacheEntry>, StoreError>
    /**
     * Delete the entries `purge` covers and log the purge, at `at`, in one
     * write: how many entries went, and the purge's id. The other instances
     * read the log (`purgesAfter`) to drop the same entries from their memory.
     * Optional, with `purgesAfter` and `lastPurgeId`: a store without them
     * purges one entry at a time (`delete`), unshared.
     */
    readonly purge?: (purge: CachePurge, at: number) => Effect.Effect<{ readonly deleted: number; readonly id: number }, StoreError>
    /** The purges logged after the one of id `after`, oldest first. */
    readonly purgesAfter?: (after: number) => Effect.Effect<ReadonlyArray<LoggedPurge>, StoreError>
    /** The id of the last purge logged (0: none). */
    readonly lastPurgeId?: Effect.Effect<number, StoreError>
  }
>() {}

/** The UTF-8 byte length of a string. */
export const utf8Bytes = (text: string): number => new TextEncoder().encode(text).length

/**
 * Which entries LRU eviction removes: ordering newest `lastAccess` first (ties
 * by key), the longest prefix with at most `maxEntries` entries and at most
 * `maxBytes` bytes stays; everything after it goes (a strict LRU, as the SQL
 * store does it).
 */
export const evictionVictims = (entries: Iterable<CacheEntry>, bounds: CacheBounds): Array<string> => {
  const newestFirst = [...entries].sort((a, b) => b.lastAccess - a.lastAccess || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  let count = 0
  let bytes = 0
  for (const entry of newestFirst) {
    if (count + 1 > bounds.maxEntries || bytes + entry.bytes > bounds.maxBytes) break
    count++
    bytes += entry.bytes
  }
  return newestFirst.slice(count).map((entry) => entry.key)
}

/** A store in a Map: for tests and for running without a database. */
export const makeMemory: Effect.Effect<CacheStore["Type"]> = Effect.sync(() => {
  const entries = new Map<string, CacheEntry>()
  const purges: Array<LoggedPurge & { readonly at: number }> = []
  let lastPurgeId = 0
  return CacheStore.of({
    get: (key, now) =>
      Effect.sync(() => {
        const entry = entries.get(key)
        if (entry === undefined) return Option.none()
        if (now >= entry.expiresAt) {
          entries.delete(key)
          return Option.none()
        }
        const touched = { ...entry, lastAccess: now }
        entries.set(key, touched)
        return Option.some(touched)
      }),
    set: (entry) => Effect.sync(() => void entries.set(entry.key, entry)),
    setAll: (all) =>
      Effect.sync(() => {
        for (const entry of all) entries.set(entry.key, entry)
      }),
    touch: (keys, now) =>
      Effect.sync(() => {
        for (const key of keys) {
          const entry = entries.get(key)
          if (entry !== undefined) entries.set(key, { ...entry, lastAccess: Math.max(entry.lastAccess, now) })
        }
      }),
    delete: (key) => Effect.sync(() => void entries.delete(key)),
    sweep: (now) =>
      Effect.sync(() => {
        let removed = 0
        for (const [key, entry] of entries) {
          if (now >= entry.expiresAt) {
            entries.delete(key)
            removed++
          }
        }
        return removed
      }),
    evict: (bounds) =>
      Effect.sync(() => {
        const victims = evictionVictims(entries.values(), bounds)
        for (const key of victims) entries.delete(key)
        return victims.length
      }),
    recent: (bounds, now) =>
      Effect.sync(() => {
        const live = [...entries.values()].filter((entry) => now < entry.expiresAt)
        const dropped = new Set(evictionVictims(live, bounds))
        return live
          .filter((entry) => !dropped.has(entry.key))
          .sort((a, b) => b.lastAccess - a.lastAccess || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      }),
    size: Effect.sync(() => {
      let bytes = 0
      for (const entry of entries.values()) bytes += entry.bytes
      return { entries: entries.size, bytes }
    }),
    usedSince: (from, now, limit) =>
      Effect.sync(() =>
        [...entries.values()]
          .filter((entry) => entry.lastAccess >= from && now < entry.expiresAt)
          .sort((a, b) => b.lastAccess - a.lastAccess || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
          .slice(0, limit)
      ),
    purge: (purge, at) =>
      Effect.sync(() => {
        let deleted = 0
        for (const entry of entries.values()) {
          if (purgeCovers(purge, entry.key, entry.model)) {
            entries.delete(entry.key)
            deleted++
          }
        }
        while (purges.length > 0 && purges[0]!.at < at - purgeLogMs) purges.shift()
        purges.push({ ...purge, id: ++lastPurgeId, at })
        return { deleted, id: lastPurgeId }
      }),
    purgesAfter: (after) => Effect.sync(() => purges.filter((p) => p.id > after).map(({ at: _, ...logged }) => logged)),
    lastPurgeId: Effect.sync(() => lastPurgeId)
  })
})

/** The memory store. */
export const layerMemory: Layer.Layer<CacheStore> = Layer.effect(CacheStore, makeMemory)
