import { assert, describe, it } from "@effect/vitest"
import * as CacheStore from "@modelgate/core/CacheStore"
import { GatewayConfigData } from "@modelgate/core/GatewayConfigSchema"
import { Effect, FastCheck as fc, Option, Schema, TestClock } from "effect"
import { build, buildBoth, cacheOver, cacheOverMemory, failingStore, nullStore, request, response } from "./ResponseCacheFixtures.js"

describe("ResponseCache", () => {
  it.scoped("caches only deterministic requests unless configured otherwise", () =>
    Effect.gen(function* () {
      const strict = yield* build(cacheOverMemory())
      assert.isTrue(yield* strict.cacheable(request("a", { temperature: 0 })))
      assert.isFalse(yield* strict.cacheable(request("a", { temperature: 0.7 })))
      assert.isFalse(yield* strict.cacheable(request("a", { temperature: undefined })))
      assert.isFalse(yield* strict.cacheable(request("a", { temperature: null })))
      const loose = yield* build(cacheOverMemory({ cacheNonDeterministic: true }))
      assert.isTrue(yield* loose.cacheable(request("a", { temperature: 0.7 })))
      assert.isTrue(yield* loose.cacheable(request("a", { temperature: undefined })))
      const off = yield* build(cacheOverMemory({ enabled: false, cacheNonDeterministic: true }))
      assert.isFalse(yield* off.cacheable(request("a", { temperature: 0 })))
      // `cacheableAt` judges under the config it is given (the request's), with the same rule.
      const config = (cache: object) => Schema.decodeUnknownSync(GatewayConfigData)({ cache })
      assert.isTrue(off.cacheableAt?.(config({ enabled: true }), request("a", { temperature: 0 })))
      assert.isFalse(off.cacheableAt?.(config({ enabled: true }), request("a", { temperature: 0.7 })))
      assert.isTrue(off.cacheableAt?.(config({ enabled: true, cacheNonDeterministic: true }), request("a", { temperature: 0.7 })))
      assert.isFalse(strict.cacheableAt?.(config({ enabled: false }), request("a", { temperature: 0 })))
    }))

  it.scoped("returns what was stored under a key and misses other keys", () =>
    Effect.gen(function* () {
      const cache = yield* build(cacheOverMemory())
      const key = cache.key(request("capital of France?"), "gpt-4o-mini")
      assert.isTrue(Option.isNone(yield* cache.get(key)))
      yield* cache.set(key, response("Paris."))
      assert.deepStrictEqual(yield* cache.get(key), Option.some(response("Paris.")))
      assert.isTrue(Option.isNone(yield* cache.get(cache.key(request("capital of Spain?"), "gpt-4o-mini"))))
      const stats = yield* cache.stats
      assert.strictEqual(stats.hits, 1)
      assert.strictEqual(stats.misses, 2)
    }))

  it.scoped("writes through to the store without waiting; reads never touch the store, which warms the cache at start", () =>
    Effect.gen(function* () {
      const shared = yield* CacheStore.makeMemory
      const first = yield* build(cacheOver(shared))
      yield* first.set("k1", response("one"))
      yield* first.flush
      assert.strictEqual((yield* shared.size).entries, 1)
      const stored = yield* shared.get("k1", 0)
      assert.deepStrictEqual(Option.map(stored, (entry) => entry.response), Option.some(response("one")))

      // written behind the cache's back: the request path does not read the store
      yield* shared.set({ key: "k2", model: "m", response: response("two"), bytes: 10, createdAt: 0, expiresAt: 1_000, lastAccess: 0 })
      assert.isTrue(Option.isNone(yield* first.get("k2")))

      // a new cache over the same store (a restart) starts with both, and keeps their expiry
      const second = yield* build(cacheOver(shared))
      assert.deepStrictEqual(yield* second.get("k1"), Option.some(response("one")))
      assert.deepStrictEqual(yield* second.get("k2"), Option.some(response("two")))
      yield* TestClock.adjust(1_000)
      assert.isTrue(Option.isNone(yield* second.get("k2")), "a warmed entry keeps its expiry")
    }))

  it.scoped("does nothing when disabled", () =>
    Effect.gen(function* () {
      const { cache, store } = yield* buildBoth(cacheOverMemory({ enabled: false }))
      yield* cache.set("k", response("x"))
      yield* cache.flush
      assert.isTrue(Option.isNone(yield* cache.get("k")))
      assert.strictEqual((yield* store.size).entries, 0)
      assert.strictEqual((yield* cache.stats).entries, 0)
    }))

  it.effect.prop(
    "serves an entry until its TTL has passed, then misses (TestClock)",
    [fc.integer({ min: 1, max: 10_000_000 }), fc.integer({ min: 0, max: 20_000_000 }), fc.boolean()],
    ([ttl, elapsed, perEntry]) =>
      Effect.gen(function* () {
        const cache = yield* build(cacheOverMemory({ ttlMs: ttl, sweepIntervalMs: 1_000_000_000 }))
        yield* perEntry ? cache.set("k", response("x"), ttl) : cache.set("k", response("x"))
        yield* TestClock.adjust(elapsed)
        assert.strictEqual(Option.isSome(yield* cache.get("k")), elapsed < ttl)
      }).pipe(Effect.scoped),
    { fastCheck: { numRuns: 100 } }
  )

  it.scoped("a per-call TTL overrides the configured one; TTL 0 does not store", () =>
    Effect.gen(function* () {
      const cache = yield* build(cacheOverMemory({ ttlMs: 60_000 }))
      yield* cache.set("short", response("s"), 1_000)
      yield* cache.set("long", response("l"))
      yield* cache.set("never", response("n"), 0)
      yield* TestClock.adjust(1_000)
      assert.isTrue(Option.isNone(yield* cache.get("short")))
      assert.isTrue(Option.isSome(yield* cache.get("long")))
      assert.isTrue(Option.isNone(yield* cache.get("never")))
    }))

  it.scoped("the sweep fiber removes expired entries from memory and store", () =>
    Effect.gen(function* () {
      const { cache, store } = yield* buildBoth(cacheOverMemory({ ttlMs: 5_000, sweepIntervalMs: 10_000 }))
      yield* cache.set("old", response("old"))
      yield* cache.flush
      yield* TestClock.adjust(6_000)
      yield* cache.set("fresh", response("fresh"), 60_000)
      yield* cache.flush
      assert.strictEqual((yield* store.size).entries, 2)
      yield* TestClock.adjust(4_000)
      yield* cache.flush
      assert.strictEqual((yield* store.size).entries, 1)
      assert.strictEqual((yield* cache.stats).entries, 1)
      assert.isTrue(Option.isSome(yield* store.get("fresh", 10_000)))
    }))

  it.scoped("evicts the least recently used entry when over maxEntries", () =>
    Effect.gen(function* () {
      const cache = yield* build(cacheOver(nullStore, { maxEntries: 3 }))
      yield* cache.set("a", response("a"))
      yield* cache.set("b", response("b"))
      yield* cache.set("c", response("c"))
      assert.isTrue(Option.isSome(yield* cache.get("a")))
      yield* cache.set("d", response("d"))
      assert.isTrue(Option.isNone(yield* cache.get("b")), "b was the least recently used")
      for (const key of ["a", "c", "d"]) assert.isTrue(Option.isSome(yield* cache.get(key)), key)
      assert.strictEqual((yield* cache.stats).entries, 3)
    }))

  it.scoped("evicts by total bytes and skips a response larger than maxBytes", () =>
    Effect.gen(function* () {
      const size = CacheStore.utf8Bytes(JSON.stringify(response("x".repeat(100))))
      const cache = yield* build(cacheOver(nullStore, { maxBytes: size * 2 + 10 }))
      yield* cache.set("a", response("x".repeat(100)))
      yield* cache.set("b", response("y".repeat(100)))
      yield* cache.set("c", response("z".repeat(100)))
      assert.isTrue(Option.isNone(yield* cache.get("a")))
      assert.isTrue(Option.isSome(yield* cache.get("b")))
      yield* cache.set("huge", response("h".repeat(size * 3)))
      assert.isTrue(Option.isNone(yield* cache.get("huge")))
      const stats = yield* cache.stats
      assert.isAtMost(stats.bytes, size * 2 + 10)
      assert.strictEqual(stats.entries, 2)
    }))

  it.scoped("a failing store reads as a miss and never fails a request", () =>
    Effect.gen(function* () {
      const { store, calls } = failingStore()
      const cache = yield* build(cacheOver(store))
      assert.isTrue(Option.isNone(yield* cache.get("unknown")))
      yield* cache.set("k", response("kept in memory"))
      yield* cache.flush
      assert.deepStrictEqual(yield* cache.get("k"), Option.some(response("kept in memory")))
      yield* cache.invalidate("k")
      yield* cache.flush
      assert.isTrue(Option.isNone(yield* cache.get("k")))
      assert.isAbove(calls.count, 2)
      assert.isAbove((yield* cache.stats).storeErrors, 2)
    }))

  it.scoped("a store that dies (defect) is also survived", () =>
    Effect.gen(function* () {
      const store = CacheStore.CacheStore.of({
        ...nullStore,
        get: () => Effect.die("boom"),
        set: () => Effect.die("boom"),
        setAll: () => Effect.die("boom")
      })
      const cache = yield* build(cacheOver(store))
      assert.isTrue(Option.isNone(yield* cache.get("x")))
      yield* cache.set("y", response("y"))
      yield* cache.flush
      assert.isTrue(Option.isSome(yield* cache.get("y")))
    }))

  it.effect("closing the layer flushes queued store writes, sent to the store in batches", () =>
    Effect.gen(function* () {
      const entries = new Map<string, CacheStore.CacheEntry>()
      const gate = yield* Effect.makeLatch(false)
      let writes = 0
      const store = CacheStore.CacheStore.of({
        ...nullStore,
        setAll: (all) =>
          gate.await.pipe(
            Effect.zipRight(Effect.repeatN(Effect.yieldNow(), 3)),
            Effect.zipRight(Effect.sync(() => {
              writes++
              all.forEach((entry) => entries.set(entry.key, entry))
            }))
          )
      })
      yield* Effect.gen(function* () {
        const cache = yield* build(cacheOver(store))
        yield* Effect.addFinalizer(() => gate.open)
        for (let i = 0; i < 50; i++) yield* cache.set(`k${i}`, response(`v${i}`))
        assert.strictEqual(entries.size, 0, "the store is blocked while requests run")
      }).pipe(Effect.scoped)
      assert.strictEqual(entries.size, 50)
      assert.isBelow(writes, 10, "queued sets reach the store in batches, not one write each")
    }))
})
