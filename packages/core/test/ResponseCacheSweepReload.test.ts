/**
 * `cache.sweepIntervalMs` follows reloads as the rest of `cache` does: a
 * reload that shortens it has expired answers removed from the store at the
 * new pace, not at the one the gateway started with.
 */
import { assert, describe, it } from "@effect/vitest"
import * as CacheStore from "@modelgate/core/CacheStore"
import * as ResponseCache from "@modelgate/core/ResponseCache"
import { Context, Effect, Layer, TestClock } from "effect"
import * as Events from "../src/Events.js"
import { ConfigFiles, layerReloadable } from "./ReloadableConfig.js"
import { buildBoth, configWith, response } from "./ResponseCacheFixtures.js"

describe("cache.sweepIntervalMs across a reload", () => {
  it.scoped("a shortened interval sweeps expired answers from the store at the new pace", () =>
    Effect.gen(function* () {
      const config = layerReloadable(configWith({ ttlMs: 5_000, sweepIntervalMs: 3_600_000 })).pipe(Layer.provide(Events.layer))
      const context = yield* Layer.build(config)
      const { cache, store } = yield* buildBoth(
        ResponseCache.layer.pipe(Layer.provideMerge(CacheStore.layerMemory), Layer.provide(Layer.succeedContext(context)))
      )
      const files = Context.get(context, ConfigFiles)
      yield* files.apply(configWith({ ttlMs: 5_000, sweepIntervalMs: 10_000 }))
      yield* cache.set("old", response("old"))
      yield* cache.flush
      assert.strictEqual((yield* store.size).entries, 1)
      yield* TestClock.adjust(20_000)
      yield* cache.flush
      assert.strictEqual((yield* store.size).entries, 0, "the expired answer is swept within the new interval")
    }))
})
