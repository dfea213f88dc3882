/**
 * With `syncEvery`, the cache of one of several instances sharing a store
 * loads the entries the others wrote into its memory tier in the background,
 * so their answers are hits here without the request path reading the store;
 * nothing is read before the interval, an entry this instance holds is left
 * as it is, and a failing read is logged and changes nothing.
 */
import { assert, describe, it } from "@effect/vitest"
import * as CacheStore from "@modelgate/core/CacheStore"
import * as GatewayConfig from "@modelgate/core/GatewayConfig"
import * as ResponseCache from "@modelgate/core/ResponseCache"
import { StoreError } from "@modelgate/domain/Errors"
import { Effect, Layer, Option, Ref, TestClock } from "effect"
import { build, configWith, request, response } from "./ResponseCacheFixtures.js"

const over = (store: CacheStore.CacheStore["Type"]) =>
  ResponseCache.layerWith({ syncEvery: "10 seconds" }).pipe(
    Layer.provide(Layer.succeed(CacheStore.CacheStore, store)),
    Layer.provide(GatewayConfig.layerStatic(configWith({ enabled: true })))
  )

/** What another instance's cache writes: an entry used at `at`, live for an hour. */
const written = (key: string, text: string, at: number): CacheStore.CacheEntry => ({
  key,
  model: "gpt-4o-mini",
  response: response(text),
  bytes: 100,
  createdAt: at,
  expiresAt: at + 3_600_000,
  lastAccess: at
})

describe("ResponseCache syncEvery", () => {
  it.scoped("another instance's entries become hits after the interval; this instance's own stay as they are", () =>
    Effect.gen(function* () {
      const store = yield* CacheStore.makeMemory
      const cache = yield* build(over(store))
      const key = cache.key(request("capital of France?"), "gpt-4o-mini")
      const own = cache.key(request("capital of Spain?"), "gpt-4o-mini")
      yield* cache.set(own, response("Madrid."))

      yield* TestClock.adjust("1 second")
      yield* store.set(written(key, "Paris.", 1_000))
      yield* store.set(written(own, "Barcelona.", 1_000))
      yield* TestClock.adjust("8 seconds")
      assert.isTrue(Option.isNone(yield* cache.get(key)), "read before the interval")

      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* cache.get(key), Option.some(response("Paris.")))
      assert.deepStrictEqual(yield* cache.get(own), Option.some(response("Madrid.")))
    }))

  it.scoped("a store that cannot be read changes nothing and fails no request", () =>
    Effect.gen(function* () {
      const store = yield* CacheStore.makeMemory
      const failures = yield* Ref.make(0)
      const failing = CacheStore.CacheStore.of({
        ...store,
        usedSince: () => Effect.zipRight(Ref.update(failures, (n) => n + 1), Effect.fail(new StoreError({ operation: "usedSince", reason: "down" })))
      })
      const cache = yield* build(over(failing))
      const key = cache.key(request("capital of France?"), "gpt-4o-mini")
      yield* cache.set(key, response("Paris."))
      yield* TestClock.adjust("20 seconds")
      assert.strictEqual(yield* Ref.get(failures), 2)
      assert.deepStrictEqual(yield* cache.get(key), Option.some(response("Paris.")))
    }))
})
