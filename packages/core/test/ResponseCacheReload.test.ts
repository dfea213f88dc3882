/**
 * A reload of the cache's bounds and sweep interval holds at once ("an
 * applied change holds from the next request on", config/README.md): a
 * lower `cache.maxEntries` or `cache.maxBytes` shrinks the memory tier and
 * the store even when only hits follow (no new answer to evict for), and a
 * new `cache.sweepIntervalMs` paces the sweep from then on. `cache.enabled:
 * false` frees the memory tier at once; turned back on, the cache loads the
 * store as a start does.
 */
import { assert, describe, it } from "@effect/vitest"
import * as CacheStore from "@modelgate/core/CacheStore"
import { GatewayConfig } from "@modelgate/core/GatewayConfig"
import type { GatewayConfigData } from "@modelgate/core/GatewayConfigSchema"
import * as ResponseCache from "@modelgate/core/ResponseCache"
import { Effect, Layer, Option, SubscriptionRef, TestClock } from "effect"
import { buildBoth, configWith, response } from "./ResponseCacheFixtures.js"

/** A cache over a memory store, under a configuration the test reloads (`reload`). */
const reloadable = (cache: Record<string, unknown>) =>
  Effect.gen(function* () {
    const ref = yield* SubscriptionRef.make<GatewayConfigData>(configWith(cache))
    const config = Layer.succeed(GatewayConfig, GatewayConfig.of({ get: SubscriptionRef.get(ref), changes: ref.changes, reload: SubscriptionRef.get(ref) }))
    const built = yield* buildBoth(ResponseCache.layer.pipe(Layer.provideMerge(CacheStore.layerMemory), Layer.provide(config)))
    // The new configuration, then the cache's own fibers given their turn (as a reload then the next request).
    const reload = (next: Record<string, unknown>) =>
      Effect.zipRight(SubscriptionRef.set(ref, configWith(next)), Effect.repeatN(Effect.yieldNow(), 20))
    return { ...built, reload }
  })

const keys = Array.from({ length: 10 }, (_, i) => `k${i}`)

describe("ResponseCache under a reload", () => {
  it.scoped("a lower maxEntries shrinks memory and store to the least recently used out, with only hits after it", () =>
    Effect.gen(function* () {
      const { cache, reload, store } = yield* reloadable({ maxEntries: 10 })
      for (const key of keys) {
        yield* cache.set(key, response(key))
        yield* TestClock.adjust(1)
      }
      assert.isTrue(Option.isSome(yield* cache.get("k0")), "k0 is now the most recently used")
      yield* cache.flush
      assert.strictEqual((yield* store.size).entries, 10)

      yield* reload({ maxEntries: 3 })
      yield* cache.flush
      assert.strictEqual((yield* cache.stats).entries, 3, "memory holds the new bound")
      assert.strictEqual((yield* store.size).entries, 3, "so does the store")
      for (const key of ["k8", "k9", "k0"]) assert.isTrue(Option.isSome(yield* cache.get(key)), `${key} was among the 3 most recently used`)
      for (const key of ["k1", "k7"]) assert.isTrue(Option.isNone(yield* cache.get(key)), `${key} went`)
    }))

  it.scoped("a lower maxBytes shrinks memory and store by bytes", () =>
    Effect.gen(function* () {
      const size = CacheStore.utf8Bytes(JSON.stringify(response("k0")))
      const { cache, reload, store } = yield* reloadable({ maxEntries: 100 })
      for (const key of keys) {
        yield* cache.set(key, response(key))
        yield* TestClock.adjust(1)
      }
      yield* cache.flush
      assert.strictEqual((yield* cache.stats).bytes, size * 10)

      yield* reload({ maxEntries: 100, maxBytes: size * 4 })
      yield* cache.flush
      const stats = yield* cache.stats
      assert.strictEqual(stats.entries, 4)
      assert.strictEqual(stats.bytes, size * 4)
      assert.deepStrictEqual(yield* store.size, { entries: 4, bytes: size * 4 })
      assert.isTrue(Option.isSome(yield* cache.get("k9")))
      assert.isTrue(Option.isNone(yield* cache.get("k5")))
    }))

  it.scoped("a higher bound keeps every entry", () =>
    Effect.gen(function* () {
      const { cache, reload, store } = yield* reloadable({ maxEntries: 5 })
      for (const key of keys.slice(0, 5)) yield* cache.set(key, response(key))
      yield* reload({ maxEntries: 50 })
      yield* cache.flush
      assert.strictEqual((yield* cache.stats).entries, 5)
      assert.strictEqual((yield* store.size).entries, 5)
    }))

  it.scoped("a new sweepIntervalMs paces the sweep from the reload on: expired entries are freed unread", () =>
    Effect.gen(function* () {
      const { cache, reload, store } = yield* reloadable({ ttlMs: 1_000, sweepIntervalMs: 3_600_000 })
      yield* cache.set("a", response("a"))
      yield* cache.flush
      yield* reload({ ttlMs: 1_000, sweepIntervalMs: 10_000 })
      yield* TestClock.adjust(10_000)
      yield* cache.flush
      assert.strictEqual((yield* cache.stats).entries, 0, "the expired entry left memory at the new interval")
      assert.strictEqual((yield* store.size).entries, 0)
    }))

  it.scoped("cache.enabled: false frees the memory tier at once; the store keeps its rows", () =>
    Effect.gen(function* () {
      const { cache, reload, store } = yield* reloadable({ maxEntries: 10 })
      for (const key of keys) yield* cache.set(key, response(key))
      yield* cache.flush

      yield* reload({ maxEntries: 10, enabled: false })
      const stats = yield* cache.stats
      assert.deepStrictEqual([stats.entries, stats.bytes], [0, 0], "nothing is held in memory while off")
      yield* cache.flush
      assert.strictEqual((yield* store.size).entries, 10, "the store's rows stay, to expire or be purged as usual")
    }))

  it.scoped("turned back on, the cache loads the store as a start does", () =>
    Effect.gen(function* () {
      const { cache, reload } = yield* reloadable({ maxEntries: 10 })
      for (const key of keys) {
        yield* cache.set(key, response(key))
        yield* TestClock.adjust(1)
      }
      yield* cache.flush
      yield* reload({ maxEntries: 10, enabled: false })
      yield* reload({ maxEntries: 3 })
      assert.strictEqual((yield* cache.stats).entries, 3, "the most recently used that fit the bounds, as at start")
      assert.isTrue(Option.isSome(yield* cache.get("k9")))
      assert.isTrue(Option.isNone(yield* cache.get("k0")))
    }))
})
