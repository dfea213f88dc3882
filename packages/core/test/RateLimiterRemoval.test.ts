/**
 * Limiter windows and the registry. Windows are the provider's limits: a
 * model removed and added again within its window is still limited by what
 * it used, and a reload that keeps a model keeps its window. A removed
 * model's windows (its own and its keys') are dropped once they hold nothing
 * (the window has passed, no provider block runs), and a call that outlives
 * them leaves none behind.
 */
import { assert, describe, it } from "@effect/vitest"
import { RateLimitInfo } from "@modelgate/domain/RateLimitInfo"
import { Effect, Layer, TestClock } from "effect"
import * as Events from "../src/Events.js"
import * as GatewayConfig from "../src/GatewayConfig.js"
import { defaultConfig } from "../src/GatewayConfigSchema.js"
import * as RateLimiterModule from "../src/RateLimiter.js"
import { RateLimiter, storeKey } from "../src/RateLimiter.js"
import * as LimiterStore from "../src/RateLimiter/LimiterStore.js"
import * as RecordSink from "../src/RecordSink.js"
import { layerReloadableModels, ModelsFile } from "./ReloadableModels.js"
import { limitedModel, testModel } from "./TestModels.js"

const m = limitedModel(2, 1_000_000)
const other = limitedModel(100, 1_000_000, "other")

const testLayer = RateLimiterModule.layer.pipe(
  Layer.provideMerge(Layer.mergeAll(
    GatewayConfig.layerStatic(defaultConfig),
    RecordSink.layerMemory,
    LimiterStore.layerMemory,
    layerReloadableModels([m, other])
  )),
  Layer.provide(Events.layer)
)

/** Whether a one-token request on `model` is admitted now, reserving it. */
const admitted = (model = m) => Effect.flatMap(RateLimiter, (l) => Effect.map(Effect.either(l.reserve(model, 1)), (r) => r._tag === "Right"))

/** Whether the store holds a window for `key`. */
const held = (key: string) => Effect.flatMap(LimiterStore.LimiterStore, (s) => s.snapshot(key)).pipe(Effect.map((state) => state !== undefined))

/** Let the limiter's registry fibers run. */
const settle = Effect.repeatN(Effect.yieldNow(), 20)

describe("RateLimiter: models the registry removes", () => {
  it.effect("removed and added again within the window, a model is still limited by what it used", () =>
    Effect.gen(function* () {
      const file = yield* ModelsFile
      yield* settle
      assert.isTrue(yield* admitted())
      assert.isTrue(yield* admitted())
      yield* file.apply([other])
      yield* settle
      yield* TestClock.adjust("30 seconds")
      yield* file.apply([m, other])
      yield* settle
      assert.isFalse(yield* admitted(), "the window was reset by the removal")
      yield* TestClock.adjust("31 seconds")
      assert.isTrue(yield* admitted())
    }).pipe(Effect.provide(testLayer)))

  it.effect("a reload that keeps a model (its price changed) keeps its window", () =>
    Effect.gen(function* () {
      const file = yield* ModelsFile
      yield* settle
      assert.isTrue(yield* admitted())
      assert.isTrue(yield* admitted())
      yield* file.apply([testModel("m1", { rateLimits: { rpm: 2, tpm: 1_000_000 }, pricing: { inputPerMillion: 9, outputPerMillion: 9 } }), other])
      yield* settle
      assert.isFalse(yield* admitted())
    }).pipe(Effect.provide(testLayer)))

  it.effect("a removed model's windows are dropped once they hold nothing; a late settle leaves none behind", () =>
    Effect.gen(function* () {
      const file = yield* ModelsFile
      const limiter = yield* RateLimiter
      yield* settle
      const inFlight = yield* limiter.reserve(m, 10, "openai#1")
      assert.isTrue(yield* admitted(other))
      yield* file.apply([other])
      yield* settle
      yield* TestClock.adjust("59 seconds")
      assert.isTrue((yield* held(storeKey("m1"))) && (yield* held(storeKey("m1", "openai#1"))), "dropped within its window")
      yield* TestClock.adjust("2 seconds")
      yield* settle
      assert.isFalse(yield* held(storeKey("m1")), "the removed model's window is kept after it has passed")
      assert.isFalse(yield* held(storeKey("m1", "openai#1")), "the removed model's key window is kept after it has passed")
      assert.isTrue(yield* held(storeKey("other")), "a model still in the registry lost its window")
      // The call reserved before the removal answers now.
      yield* limiter.settle(inFlight, 12)
      assert.isFalse(yield* held(storeKey("m1")), "a late settle created a window again")
    }).pipe(Effect.provide(testLayer)))

  it.effect("a removed model blocked by its provider keeps its window until the block ends", () =>
    Effect.gen(function* () {
      const file = yield* ModelsFile
      const limiter = yield* RateLimiter
      yield* settle
      yield* limiter.observe(m, RateLimitInfo.make({ remainingRequests: 0, resetRequestsMs: 300_000 }))
      yield* file.apply([other])
      yield* settle
      yield* TestClock.adjust("200 seconds")
      yield* file.apply([m, other])
      yield* settle
      assert.isFalse(yield* admitted(), "the provider's block was lost with the removal")
      yield* file.apply([other])
      yield* settle
      yield* TestClock.adjust("101 seconds")
      yield* settle
      assert.isFalse(yield* held(storeKey("m1")))
    }).pipe(Effect.provide(testLayer)))
})
