/**
 * ResponseCache: key = SHA-256 of the canonical request; TTL; LRU by entries
 * and bytes; a persistent `CacheStore` (SQL) behind a memory LRU.
 *
 * Never fails: a store error is logged and reads as a miss (or a skipped
 * write). Nothing on the request path waits on disk: the memory tier is loaded
 * from the store once, at start (the most recently used entries that fit the
 * bounds), reads are served from memory only, and writes go to memory at once
 * and to the store through a small write-behind queue. With several instances
 * on one store, `syncEvery` also loads the others' entries in the background.
 *
 * Determinism: a request is cacheable when the cache is enabled and either
 * `temperature` is exactly 0 or `cache.cacheNonDeterministic` is set. An unset
 * (or null) temperature counts as non-deterministic: OpenAI's default is 1.
 * An answer a content filter stopped or the model refused is never stored (`filteredAnswer`).
 *
 * Untraced (`get`, `set` and `cacheable`: `Effect.fnUntraced` or plain functions, no span or
 * stack capture per call): on the request path, see bench/README.md. The
 * gateway keeps one span per request.
 */
import type { ChatRequest, ChatResponse } from "@modelgate/domain/Chat"
import { StoreError } from "@modelgate/domain/Errors"
import { Clock, Context, Deferred, Duration, Effect, Exit, FiberHandle, Layer, Option, Queue, Stream, SubscriptionRef } from "effect"
import * as CacheStore from "./CacheStore.js"
import { GatewayConfig } from "./GatewayConfig.js"
import type { GatewayConfigData } from "./GatewayConfigSchema.js"
import { cacheKey } from "./ResponseCache/Key.js"
import { Lru } from "./ResponseCache/Lru.js"

export { answeringModel, cacheKey, canonicalJson, canonicalRequest, keyedParameters, registryDigest } from "./ResponseCache/Key.js"
export { replay, replayChunks, type ReplayOptions } from "./ResponseCache/Replay.js"

/** What a purge deleted: entries of this instance's memory and of the store. */
export interface PurgeCount {
  readonly memory: number
  readonly store: number
}

/** Counters since start, and the memory tier's size. */
export interface CacheStats {
  readonly hits: number
  readonly misses: number
  /** Memory-tier entries and bytes. */
  readonly entries: number
  readonly bytes: number
  /** Store operations that failed (logged, never surfaced). */
  readonly storeErrors: number
  /** Store writes dropped because the write queue was full. */
  readonly droppedWrites: number
}

/** The response cache. */
export class ResponseCache extends Context.Tag("@modelgate/core/ResponseCache")<
  ResponseCache,
  {
    /** The canonical key of `request` on `model` (what answers it: `answeringModel`, or `auto`'s requirements and `registryDigest`). */
    readonly key: (request: ChatRequest, model: string) => string
    /** Whether this request may be cached at all (config: enabled, temperature). */
    readonly cacheable: (request: ChatRequest) => Effect.Effect<boolean>
    /** `cacheable` under `config` (the request's, not read again), answered at once. Optional: callers fall back to `cacheable`. */
    readonly cacheableAt?: (config: GatewayConfigData, request: ChatRequest) => boolean
    /** The cached answer under `key` (from `key`), or None when absent or expired. */
    readonly get: (key: string) => Effect.Effect<Option.Option<ChatResponse>>
    /**
     * Store with the config TTL, or `ttlMs` when given (0 or less: not stored).
     * An answer a content filter stopped (`finish_reason: "content_filter"` on any choice) or the model
     * refused (a `message.refusal`) is not stored: the verdict may not hold next time.
     */
    readonly set: (key: string, response: ChatResponse, ttlMs?: number) => Effect.Effect<void>
  }
>() {}

/**
 * Operations on the cache beyond the request path (admin, tests, metrics),
 * provided by the same layers as `ResponseCache`.
 */
export class CacheControl extends Context.Tag("@modelgate/core/ResponseCache/CacheControl")<
  CacheControl,
  {
    /**
     * Forget one entry: memory at once, the store write-behind; with a store
     * that logs purges (`CacheStore.purge`), the other instances' memory at
     * their next sync too.
     */
    readonly invalidate: (key: string) => Effect.Effect<void>
    /**
     * Forget every entry `purge` covers (all, one model's, one key's): this
     * instance's memory at once, then the store (after the writes queued
     * before it), which logs it for the other instances to apply at their
     * next sync. How many entries went from memory and from the store; fails
     * when the store could not purge (memory is purged all the same).
     */
    readonly purge: (purge: CacheStore.CachePurge) => Effect.Effect<PurgeCount, StoreError>
    /** Wait until every queued store write has been applied. */
    readonly flush: Effect.Effect<void>
    /** Hit / miss counters and memory-tier size. */
    readonly stats: Effect.Effect<CacheStats>
  }
>() {}

type Command =
  | { readonly _tag: "Set"; readonly entry: CacheStore.CacheEntry }
  | { readonly _tag: "Delete"; readonly key: string }
  | {
    readonly _tag: "Purge"
    readonly purge: CacheStore.CachePurge
    readonly at: number
    /** Told the store's count, or its failure (a failure is logged either way). */
    readonly done: Deferred.Deferred<number, StoreError>
  }
  | { readonly _tag: "Sync" }
  /** Evict the store to the current bounds (a reload lowered them). */
  | { readonly _tag: "Evict" }

/**
 * Whether a choice of `response` was stopped by a content filter
 * (`finish_reason: "content_filter"`) or refused by the model (OpenAI's
 * `message.refusal`, as structured outputs answer, with `finish_reason:
 * "stop"`): a verdict that may be transient, so never replayed from the
 * cache. An answer cut by the token limit (`length`) is what the same
 * `max_tokens` gives again: it is cached.
 */
const filteredAnswer = (response: ChatResponse): boolean => {
  for (const choice of response.choices) {
    if (choice.finish_reason === "content_filter" || (choice.message.refusal ?? "") !== "") return true
  }
  return false
}

/** Capacity of the store write queue; writes beyond it are dropped (logged). */
const writeQueueCapacity = 4_096
/** How many queued writes one store batch takes. */
const writeBatch = 256

/** Options of `make` and `layerWith`. */
export interface MakeOptions {
  /**
   * With several instances sharing the store: how often to read the entries
   * the others wrote or used since the last read (`CacheStore.usedSince`)
   * into the memory tier, so their answers are hits here too (default:
   * never; GatewayLive sets `database.syncIntervalMs` on PostgreSQL).
   */
  readonly syncEvery?: Duration.DurationInput | undefined
}

/** Entries read per sync at most (the newest used first). */
const syncLimit = 1_000

/** Build the cache and its control; the store writer, sweep and sync fibers live in the current scope. */
export const make = (options: MakeOptions = {}) => Effect.gen(function* () {
  const gatewayConfig = yield* GatewayConfig
  const store = yield* CacheStore.CacheStore
  const lru = new Lru<ChatResponse>()
  const touched = new Map<string, number>()
  /** Drop what `purge` covers from the memory tier; how many entries went. */
  const dropFromMemory = (purge: CacheStore.CachePurge): number =>
    lru.deleteWhere((key, entry) => {
      const covered = CacheStore.purgeCovers(purge, key, entry.value.model)
      if (covered) touched.delete(key)
      return covered
    })
  const queue = yield* Effect.acquireRelease(Queue.dropping<Command>(writeQueueCapacity), Queue.shutdown)
  const pending = yield* SubscriptionRef.make(0)
  const counters = { hits: 0, misses: 0, storeErrors: 0, droppedWrites: 0 }

  const cacheConfig = Effect.map(gatewayConfig.get, (config) => config.cache)

  const logStoreError = (operation: string) => (error: StoreError) =>
    Effect.sync(() => void counters.storeErrors++).pipe(
      Effect.zipRight(Effect.logWarning(`response cache: store ${operation} failed, carrying on without it`)),
      Effect.annotateLogs({ error: error.message })
    )
  const logStoreDefect = (operation: string) => (defect: unknown) =>
    Effect.sync(() => void counters.storeErrors++).pipe(
      Effect.zipRight(Effect.logError(`response cache: store ${operation} crashed, carrying on without it`, defect))
    )
  const safely = <A>(operation: string, effect: Effect.Effect<A, StoreError>, fallback: A): Effect.Effect<A> =>
    effect.pipe(
      Effect.catchAll((error) => Effect.as(logStoreError(operation)(error), fallback)),
      Effect.catchAllDefect((defect) => Effect.as(logStoreDefect(operation)(defect), fallback))
    )

  /** Queue a store write; whether the queue took it (a full queue drops it, logged). */
  const enqueue = (command: Command): Effect.Effect<boolean> =>
    Effect.gen(function* () {
      yield* SubscriptionRef.update(pending, (n) => n + 1)
      const accepted = yield* Queue.offer(queue, command)
      if (!accepted) {
        yield* SubscriptionRef.update(pending, (n) => n - 1)
        if (command._tag !== "Sync" && command._tag !== "Evict") {
          counters.droppedWrites++
          yield* Effect.logWarning("response cache: store write queue full, dropping a write")
        }
      }
      return accepted
    })

  /** Purges this instance logged, while a sync reads the log back (`syncEvery`): it does not apply them again. */
  const ownPurges = new Set<number>()
  const readsPurges = options.syncEvery !== undefined && store.usedSince !== undefined && store.purgesAfter !== undefined
  const storePurge = store.purge
  /** The store's part of a purge: logged there when it can (shared), else one key deleted, else refused. */
  const purgeInStore = (purge: CacheStore.CachePurge, at: number): Effect.Effect<number, StoreError> => {
    if (storePurge !== undefined) {
      return Effect.map(storePurge(purge, at), ({ deleted, id }) => {
        if (readsPurges) ownPurges.add(id)
        return deleted
      })
    }
    if (purge.key !== undefined && purge.model === undefined) return Effect.as(store.delete(purge.key), 1)
    return Effect.fail(new StoreError({ operation: "cache purge", reason: "this cache store cannot purge more than one entry at a time" }))
  }

  const writeBatchToStore = (commands: Iterable<Command>) =>
    Effect.gen(function* () {
      let wrote = false
      let evict = false
      // Consecutive sets go to the store as one write (one round trip, one transaction); order is kept around deletes.
      let sets: Array<CacheStore.CacheEntry> = []
      const writeSets = Effect.suspend(() => {
        if (sets.length === 0) return Effect.void
        const entries = sets
        sets = []
        wrote = true
        return safely("write", store.setAll(entries), undefined)
      })
      for (const command of commands) {
        if (command._tag === "Set") {
          sets.push(command.entry)
        } else if (command._tag === "Evict") {
          evict = true
        } else if (command._tag === "Delete") {
          yield* writeSets
          yield* safely("delete", store.delete(command.key), undefined)
        } else if (command._tag === "Purge") {
          yield* writeSets
          const done = yield* Effect.exit(purgeInStore(command.purge, command.at))
          if (Exit.isFailure(done)) {
            counters.storeErrors++
            yield* Effect.logWarning("response cache: store purge failed; the other instances keep the purged entries until they expire", done.cause)
          }
          yield* Deferred.done(command.done, done)
        }
      }
      yield* writeSets
      if (touched.size > 0) {
        const byTime = new Map<number, Array<string>>()
        for (const [key, at] of touched) byTime.set(at, [...(byTime.get(at) ?? []), key])
        touched.clear()
        for (const [at, keys] of byTime) yield* safely("touch", store.touch(keys, at), undefined)
      }
      if (wrote || evict) {
        const config = yield* cacheConfig
        yield* safely("evict", store.evict({ maxEntries: config.maxEntries, maxBytes: config.maxBytes }), 0)
      }
    })

  yield* Queue.takeBetween(queue, 1, writeBatch).pipe(
    Effect.flatMap((batch) =>
      writeBatchToStore(batch).pipe(Effect.ensuring(SubscriptionRef.update(pending, (n) => n - batch.length)))
    ),
    Effect.forever,
    Effect.forkScoped
  )

  const flush: Effect.Effect<void> = Effect.gen(function* () {
    yield* enqueue({ _tag: "Sync" })
    yield* pending.changes.pipe(Stream.takeUntil((n) => n <= 0), Stream.runDrain)
  }).pipe(Effect.withSpan("ResponseCache.flush"))

  // Warm the memory tier from the store at start (and when a reload turns the cache back on): the request
  // path never reads the store. An entry already in memory (set since) is newer than the store's.
  const warm = (config: GatewayConfigData["cache"]) => Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const entries = yield* safely("warm", store.recent({ maxEntries: config.maxEntries, maxBytes: config.maxBytes }, now), [])
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i]!
      if (lru.has(entry.key)) continue
      lru.set(entry.key, { value: entry.response, bytes: entry.bytes, expiresAt: entry.expiresAt }, config.maxEntries, config.maxBytes)
    }
    if (entries.length > 0) yield* Effect.logDebug(`response cache: ${entries.length} entries loaded from the store`)
  })
  const startConfig = yield* cacheConfig
  if (startConfig.enabled) yield* warm(startConfig)

  const sweep = Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    lru.sweep(now)
    const removed = yield* safely("sweep", store.sweep(now), 0)
    if (removed > 0) yield* Effect.logDebug(`response cache: swept ${removed} expired entries`)
    yield* enqueue({ _tag: "Sync" })
  })
  // The others' entries: each read goes back one interval before the last one started (a write reaches
  // the store a little after its `lastAccess`); entries already in memory are left as they are.
  const usedSince = store.usedSince
  if (options.syncEvery !== undefined && usedSince !== undefined) {
    const every = Duration.decode(options.syncEvery)
    let from = (yield* Clock.currentTimeMillis) - Duration.toMillis(every)
    // The purges logged before this start are in the store already (and so in what was loaded from it).
    const purgesAfter = store.purgesAfter
    let purgedTo = store.lastPurgeId === undefined ? 0 : yield* safely("purges", store.lastPurgeId, 0)
    const syncPurges = Effect.suspend(() => purgesAfter === undefined ? Effect.void : Effect.flatMap(
      safely("purges", purgesAfter(purgedTo), []),
      (purges) => {
        let dropped = 0
        for (const purge of purges) {
          purgedTo = Math.max(purgedTo, purge.id)
          if (ownPurges.delete(purge.id)) continue
          dropped += dropFromMemory(purge)
        }
        return dropped === 0 ? Effect.void : Effect.logDebug(`response cache: ${dropped} entries purged by other instances dropped`)
      }
    ))
    const syncOnce = Effect.gen(function* () {
      const config = yield* cacheConfig
      const now = yield* Clock.currentTimeMillis
      if (!config.enabled) return yield* syncPurges
      const entries = yield* safely("sync", usedSince(from, now, Math.min(syncLimit, config.maxEntries)), [])
      from = now - Duration.toMillis(every)
      let added = 0
      for (let i = entries.length - 1; i >= 0; i--) {
        const entry = entries[i]!
        if (lru.has(entry.key) || entry.expiresAt <= now) continue
        lru.set(entry.key, { value: entry.response, bytes: entry.bytes, expiresAt: entry.expiresAt }, config.maxEntries, config.maxBytes)
        added++
      }
      if (added > 0) yield* Effect.logDebug(`response cache: ${added} entries of other instances loaded from the store`)
      // After the entries: one read before another instance's purge is undone by it.
      yield* syncPurges
    })
    yield* syncOnce.pipe(Effect.delay(every), Effect.forever, Effect.forkScoped)
  }

  // A reload holds at once: lower bounds shrink the memory tier (least recently used first) and the store
  // (after the writes queued before), even when only hits follow; a new sweep interval restarts the sweep.
  // Turning the cache off frees the memory tier (the store keeps its rows: other instances may share them,
  // they expire as usual, and a purge is the way to drop them); turning it on loads the store as a start does.
  const sweeper = yield* FiberHandle.make()
  const sweepEvery = (ms: number) => FiberHandle.run(sweeper, Effect.forever(Effect.delay(sweep, Duration.millis(ms))))
  let applied = yield* cacheConfig
  yield* sweepEvery(applied.sweepIntervalMs)
  yield* gatewayConfig.changes.pipe(
    Stream.runForEach(({ cache: config }) =>
      Effect.suspend(() => {
        const previous = applied
        applied = config
        const restarted = config.sweepIntervalMs === previous.sweepIntervalMs ? Effect.void : Effect.asVoid(sweepEvery(config.sweepIntervalMs))
        if (!config.enabled) {
          lru.clear()
          touched.clear()
          return restarted
        }
        if (!previous.enabled) return Effect.zipRight(restarted, warm(config))
        if (config.maxEntries >= previous.maxEntries && config.maxBytes >= previous.maxBytes) return restarted
        for (const key of lru.shrink(config.maxEntries, config.maxBytes)) touched.delete(key)
        return Effect.zipRight(restarted, enqueue({ _tag: "Evict" }))
      })
    ),
    Effect.forkScoped
  )
  yield* Effect.addFinalizer(() => Effect.timeout(flush, Duration.seconds(5)).pipe(Effect.ignore))

  const miss = Effect.succeed(Option.none<ChatResponse>())
  // One config read, then (when enabled) one synchronous lookup in the memory tier.
  const get = (key: string): Effect.Effect<Option.Option<ChatResponse>> =>
    Effect.flatMap(gatewayConfig.get, (config) =>
      !config.cache.enabled ? miss : Effect.clockWith((clock) => {
        const now = clock.unsafeCurrentTimeMillis()
        const found = lru.get(key, now)
        if (found === "expired") {
          counters.misses++
          return Effect.as(enqueue({ _tag: "Delete", key }), Option.none<ChatResponse>())
        }
        if (found !== undefined) {
          counters.hits++
          touched.set(key, now)
          return Effect.succeed(Option.some(found.value))
        }
        counters.misses++
        return miss
      }))

  const set = (key: string, response: ChatResponse, ttlMs?: number): Effect.Effect<void> =>
    Effect.flatMap(gatewayConfig.get, ({ cache: config }) => {
      if (!config.enabled || filteredAnswer(response)) return Effect.void
      const ttl = ttlMs ?? config.ttlMs
      if (!(ttl > 0)) return Effect.void
      return Effect.clockWith((clock) => {
        const now = clock.unsafeCurrentTimeMillis()
        const bytes = CacheStore.utf8Bytes(JSON.stringify(response))
        if (bytes > config.maxBytes) {
          return Effect.logDebug(`response cache: a ${bytes}-byte response exceeds cache.maxBytes, not cached`)
        }
        const expiresAt = now + ttl
        touched.delete(key)
        lru.set(key, { value: response, bytes, expiresAt }, config.maxEntries, config.maxBytes)
        return enqueue({
          _tag: "Set",
          entry: { key, model: response.model, response, bytes, createdAt: now, expiresAt, lastAccess: now }
        })
      })
    })

  const invalidate = Effect.fn("ResponseCache.invalidate")(function* (key: string) {
    lru.delete(key)
    touched.delete(key)
    if (storePurge === undefined) return yield* enqueue({ _tag: "Delete", key })
    // Logged as a purge of one key, so the other instances drop it too; nobody waits for it (a failure is logged).
    yield* enqueue({ _tag: "Purge", purge: { key }, at: yield* Clock.currentTimeMillis, done: yield* Deferred.make<number, StoreError>() })
  })

  const purge = (filter: CacheStore.CachePurge): Effect.Effect<PurgeCount, StoreError> =>
    Effect.gen(function* () {
      const memory = dropFromMemory(filter)
      const done = yield* Deferred.make<number, StoreError>()
      const queued = yield* enqueue({ _tag: "Purge", purge: filter, at: yield* Clock.currentTimeMillis, done })
      if (!queued) return yield* new StoreError({ operation: "cache purge", reason: "the cache's store write queue is full" })
      return { memory, store: yield* Deferred.await(done) }
    })

  const cacheableAt = ({ cache: config }: GatewayConfigData, request: ChatRequest): boolean =>
    config.enabled && (request.temperature === 0 || config.cacheNonDeterministic)
  const cacheable = (request: ChatRequest): Effect.Effect<boolean> => Effect.map(gatewayConfig.get, (config) => cacheableAt(config, request))

  return Context.make(ResponseCache, ResponseCache.of({ key: cacheKey, cacheable, cacheableAt, get, set })).pipe(
    Context.add(
      CacheControl,
      CacheControl.of({
        invalidate,
        purge,
        flush,
        stats: Effect.sync(() => ({ ...counters, entries: lru.size, bytes: lru.bytes }))
      })
    )
  )
})

/** The cache (and its control) with `options` over whatever `CacheStore` is provided (SQL in production). */
export const layerWith = (options: MakeOptions): Layer.Layer<ResponseCache | CacheControl, never, GatewayConfig | CacheStore.CacheStore> =>
  Layer.scopedContext(make(options))

/** The cache (and its control) over whatever `CacheStore` is provided (SQL in production). */
export const layer: Layer.Layer<ResponseCache | CacheControl, never, GatewayConfig | CacheStore.CacheStore> = layerWith({})

/** The cache over the memory store (no database). */
export const layerMemory: Layer.Layer<ResponseCache | CacheControl, never, GatewayConfig> = layer.pipe(
  Layer.provide(CacheStore.layerMemory)
)
