/**
 * Purging the response cache: every entry, one model's, or one key's, gone
 * from this instance's memory at once and from the store (after the writes
 * queued before the purge, so none of them brings an entry back). With
 * several instances on one store, each drops what another purged from its
 * own memory at its next sync, once: an answer cached after the purge stays.
 */
import { assert, describe, it } from "@effect/vitest"
import * as CacheStore from "@modelgate/core/CacheStore"
import * as GatewayConfig from "@modelgate/core/GatewayConfig"
import * as ResponseCache from "@modelgate/core/ResponseCache"
import { Effect, Layer, Option, TestClock } from "effect"
import { build, configWith, request, response } from "./ResponseCacheFixtures.js"

/** An instance's cache over `store`, reading the others' entries and purges every 10 s. */
const instance = (store: CacheStore.CacheStore["Type"]) =>
  build(
    ResponseCache.layerWith({ syncEvery: "10 seconds" }).pipe(
      Layer.provide(Layer.succeed(CacheStore.CacheStore, store)),
      Layer.provide(GatewayConfig.layerStatic(configWith({ enabled: true })))
    )
  )

const mini = (text: string) => response(text)
const opus = (text: string) => response(text, { model: "claude-opus-4-5" })
const isHit = (option: Option.Option<unknown>) => Option.isSome(option)

describe("ResponseCache purge", () => {
  it.scoped("a model's purge empties its entries from memory and store, after the writes queued before it; other models' stay", () =>
    Effect.gen(function* () {
      const store = yield* CacheStore.makeMemory
      const cache = yield* instance(store)
      const paris = cache.key(request("capital of France?"), "gpt-4o-mini")
      const rome = cache.key(request("capital of Italy?"), "gpt-4o-mini")
      const poem = cache.key(request("a poem"), "claude-opus-4-5")
      yield* cache.set(paris, mini("Paris."))
      yield* cache.set(poem, opus("Roses."))
      yield* cache.flush
      // Queued, not yet written, when the purge comes.
      yield* cache.set(rome, mini("Rome."))

      const count = yield* cache.purge({ model: "gpt-4o-mini" })
      assert.deepStrictEqual(count, { memory: 2, store: 2 })
      assert.isFalse(isHit(yield* cache.get(paris)))
      assert.isFalse(isHit(yield* cache.get(rome)))
      assert.isTrue(isHit(yield* cache.get(poem)))
      yield* cache.flush
      assert.deepStrictEqual((yield* store.size).entries, 1)
      assert.isTrue(isHit(yield* store.get(poem, 0)))
    }))

  it.scoped("a purge of everything leaves nothing; an answer cached afterwards is kept", () =>
    Effect.gen(function* () {
      const store = yield* CacheStore.makeMemory
      const cache = yield* instance(store)
      const paris = cache.key(request("capital of France?"), "gpt-4o-mini")
      const poem = cache.key(request("a poem"), "claude-opus-4-5")
      yield* cache.set(paris, mini("Paris."))
      yield* cache.set(poem, opus("Roses."))
      assert.deepStrictEqual(yield* cache.purge({}), { memory: 2, store: 2 })
      yield* cache.set(paris, mini("Paris, again."))
      // Its own purge, read back at the next sync, is not applied a second time.
      yield* TestClock.adjust("10 seconds")
      assert.deepStrictEqual(yield* cache.get(paris), Option.some(mini("Paris, again.")))
      assert.isFalse(isHit(yield* cache.get(poem)))
    }))

  it.scoped("another instance drops what one purged at its next sync, once; what it caches afterwards stays", () =>
    Effect.gen(function* () {
      const store = yield* CacheStore.makeMemory
      const a = yield* instance(store)
      const b = yield* instance(store)
      const paris = a.key(request("capital of France?"), "gpt-4o-mini")
      const poem = a.key(request("a poem"), "claude-opus-4-5")
      yield* b.set(paris, mini("Paris."))
      yield* b.set(poem, opus("Roses."))
      yield* b.flush

      yield* a.purge({ model: "gpt-4o-mini" })
      assert.isTrue(isHit(yield* b.get(paris)), "B holds it until its sync")
      yield* TestClock.adjust("10 seconds")
      assert.isFalse(isHit(yield* b.get(paris)))
      assert.isTrue(isHit(yield* b.get(poem)))

      yield* b.set(paris, mini("Paris, fresh."))
      yield* TestClock.adjust("10 seconds")
      assert.deepStrictEqual(yield* b.get(paris), Option.some(mini("Paris, fresh.")))
    }))

  it.scoped("one entry invalidated on one instance is dropped by the others too", () =>
    Effect.gen(function* () {
      const store = yield* CacheStore.makeMemory
      const a = yield* instance(store)
      const b = yield* instance(store)
      const paris = a.key(request("capital of France?"), "gpt-4o-mini")
      const rome = a.key(request("capital of Italy?"), "gpt-4o-mini")
      yield* b.set(paris, mini("Paris."))
      yield* b.set(rome, mini("Rome."))
      yield* b.flush
      yield* a.invalidate(paris)
      yield* a.flush
      yield* TestClock.adjust("10 seconds")
      assert.isFalse(isHit(yield* b.get(paris)))
      assert.isTrue(isHit(yield* b.get(rome)))
    }))
})
