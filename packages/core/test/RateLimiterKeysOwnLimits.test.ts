/**
 * A model's `rateLimits` are one API key's: with several keys of its provider
 * (each its own organization's limits) each key is held to them and the
 * model to their sum over the usable keys; a key set aside (401/403) no
 * longer adds its share. The same on a store without `applySync`.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ModelMetadata } from "@modelgate/domain/Model"
import { Context, Effect, Either, Layer, TestClock } from "effect"
import * as ApiKeys from "../src/ApiKeys.js"
import * as Events from "../src/Events.js"
import * as GatewayConfig from "../src/GatewayConfig.js"
import { defaultConfig } from "../src/GatewayConfigSchema.js"
import { RateLimiter, layer as limiterLayer } from "../src/RateLimiter.js"
import { LimiterStore, makeMemory } from "../src/RateLimiter/LimiterStore.js"
import * as RecordSink from "../src/RecordSink.js"
import { limitedModel } from "./TestModels.js"

/** A model on "openai" at 2 rpm (one key's limits). */
const model: ModelMetadata = limitedModel(2, 1_000_000, "mini")

/** How many of `ids` (key ids, in order) the limiter admits a reservation on. */
const admitted = (reserve: (keyId: string) => Effect.Effect<unknown, unknown>, ids: ReadonlyArray<string>) =>
  Effect.map(Effect.forEach(ids, (id) => Effect.either(reserve(id))), (results) => results.filter(Either.isRight).length)

const setup = (remote: boolean) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(Date.UTC(2026, 0, 15, 12))
    const memory = yield* makeMemory
    const store = remote ? LimiterStore.of({ snapshot: memory.snapshot, apply: memory.apply, applySync: undefined }) : memory
    // The limiter built over the keys, as GatewayLive builds it.
    const context = yield* Layer.build(
      limiterLayer.pipe(
        Layer.provideMerge(ApiKeys.layerStatic({ openai: ["sk-0", "sk-1", "sk-2"] })),
        Layer.provide(Layer.mergeAll(GatewayConfig.layerStatic(defaultConfig), Events.layer, RecordSink.layerMemory, Layer.succeed(LimiterStore, store)))
      )
    )
    return { limiter: Context.get(context, RateLimiter), keys: Context.get(context, ApiKeys.ApiKeys) }
  })

describe("RateLimiter: keys with limits of their own", () => {
  for (const remote of [false, true]) {
    const on = remote ? " (a store without applySync)" : ""
    it.scoped(`three keys at 2 rpm: six reservations of a minute, two per key, then none${on}`, () =>
      Effect.gen(function* () {
        const { limiter } = yield* setup(remote)
        const reserve = (keyId: string) => limiter.reserve(model, 10, keyId)
        assert.strictEqual(yield* admitted(reserve, ["openai#0", "openai#0", "openai#0"]), 2, "one key over its own rpm")
        assert.strictEqual(yield* admitted(reserve, ["openai#1", "openai#1", "openai#2", "openai#2"]), 4)
        const room = yield* limiter.headroom(model, 10)
        assert.deepStrictEqual([room.fits, room.requestsUsed, room.rpm], [false, 6, 6])
      }))

    it.scoped(`a key set aside no longer adds its share to the model's limits${on}`, () =>
      Effect.gen(function* () {
        const { keys, limiter } = yield* setup(remote)
        yield* keys.setAside("openai", "openai#2", "401 invalid_api_key")
        const reserve = (keyId: string) => limiter.reserve(model, 10, keyId)
        assert.strictEqual(yield* admitted(reserve, ["openai#0", "openai#0", "openai#1", "openai#1"]), 4)
        assert.strictEqual((yield* limiter.headroom(model, 10)).rpm, 4)
        assert.isFalse((yield* limiter.headroom(model, 10)).fits)
      }))
  }
})
