import { assert, describe, it } from "@effect/vitest"
import * as CacheStore from "@modelgate/core/CacheStore"
import { Effect, Option } from "effect"
import * as fc from "fast-check"
import { response } from "./ResponseCacheFixtures.js"

const entry = (key: string, lastAccess: number, bytes = 10, expiresAt = 1_000_000): CacheStore.CacheEntry => ({
  key,
  model: "m",
  response: response(key),
  bytes,
  createdAt: 0,
  expiresAt,
  lastAccess
})

describe("CacheStore (memory)", () => {
  it.effect("reads live entries, bumps last access, deletes expired ones on read", () =>
    Effect.gen(function* () {
      const store = yield* CacheStore.makeMemory
      yield* store.set(entry("live", 5))
      yield* store.set(entry("stale", 5, 10, 50))
      const live = yield* store.get("live", 40)
      assert.strictEqual(Option.getOrThrow(live).lastAccess, 40)
      assert.isTrue(Option.isNone(yield* store.get("stale", 50)))
      assert.deepStrictEqual(yield* store.size, { entries: 1, bytes: 10 })
    }))

  it.effect("sweeps expired entries and evicts least recently used beyond the bounds", () =>
    Effect.gen(function* () {
      const store = yield* CacheStore.makeMemory
      for (const [key, at] of [["a", 1], ["b", 2], ["c", 3], ["d", 4]] as const) yield* store.set(entry(key, at))
      yield* store.set(entry("gone", 9, 10, 100))
      assert.strictEqual(yield* store.sweep(100), 1)
      yield* store.touch(["a"], 10)
      assert.strictEqual(yield* store.evict({ maxEntries: 2, maxBytes: 1_000 }), 2)
      assert.isTrue(Option.isSome(yield* store.get("a", 11)))
      assert.isTrue(Option.isSome(yield* store.get("d", 11)))
      assert.isTrue(Option.isNone(yield* store.get("b", 11)))
      assert.strictEqual(yield* store.evict({ maxEntries: 10, maxBytes: 15 }), 1)
      assert.deepStrictEqual(yield* store.size, { entries: 1, bytes: 10 })
    }))

  it("evictionVictims keeps the newest entries within both bounds and drops only older ones (property)", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ key: fc.string({ minLength: 1, maxLength: 3 }), at: fc.integer({ min: 0, max: 50 }), bytes: fc.integer({ min: 1, max: 40 }) }), {
          selector: (e) => e.key,
          maxLength: 30
        }),
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 0, max: 200 }),
        (rows, maxEntries, maxBytes) => {
          const entries = rows.map((row) => entry(row.key, row.at, row.bytes))
          const victims = new Set(CacheStore.evictionVictims(entries, { maxEntries, maxBytes }))
          const kept = entries.filter((e) => !victims.has(e.key))
          assert.isAtMost(kept.length, maxEntries)
          assert.isAtMost(kept.reduce((sum, e) => sum + e.bytes, 0), maxBytes)
          for (const victim of entries.filter((e) => victims.has(e.key))) {
            for (const survivor of kept) assert.isAtLeast(survivor.lastAccess, victim.lastAccess)
          }
        }
      ),
      { numRuns: 200 }
    )
  })
})
