import { assert, describe, it } from "@effect/vitest"
import type { GatewayEvent } from "@modelgate/domain/Events"
import { RateLimitInfo } from "@modelgate/domain/RateLimitInfo"
import { Clock, Effect, Layer, Ref, Stream, TestClock } from "effect"
import * as Events from "../src/Events.js"
import * as GatewayConfig from "../src/GatewayConfig.js"
import { defaultConfig, GatewayConfigData, RateLimitConfig } from "../src/GatewayConfigSchema.js"
import * as RateLimiterModule from "../src/RateLimiter.js"
import { RateLimiter } from "../src/RateLimiter.js"
import { LimiterStore } from "../src/RateLimiter/LimiterStore.js"
import * as LimiterStoreModule from "../src/RateLimiter/LimiterStore.js"
import * as RecordSink from "../src/RecordSink.js"
import { limitedModel } from "./TestModels.js"

const model = limitedModel(3, 1_000)

/** One scenario of reserves, refusals, settles, releases, headroom checks and a provider block; what it saw. */
const scenario = (store: Layer.Layer<LimiterStore>, useAt = false) =>
  Effect.gen(function* () {
    const published = yield* Ref.make<ReadonlyArray<GatewayEvent>>([])
    const events = Layer.succeed(Events.Events, { publish: (e) => Ref.update(published, (all) => [...all, e]), subscribe: Stream.empty })
    const config = new GatewayConfigData({ ...defaultConfig, rateLimits: RateLimitConfig.make({ warningThreshold: 0.5, windowMs: 60_000 }) })
    const layer = RateLimiterModule.layer.pipe(
      Layer.provide(Layer.mergeAll(GatewayConfig.layerStatic(config), RecordSink.layerMemory, events, store))
    )
    const start = yield* Clock.currentTimeMillis
    return yield* Effect.gen(function* () {
      const plain = yield* RateLimiter
      const gatewayConfig = yield* GatewayConfig.GatewayConfig
      // With `useAt`, reserve/settle/release go through the `…At` members on the caller's config and time.
      const at = <A, E>(f: (c: GatewayConfigData, now: number) => Effect.Effect<A, E>) =>
        Effect.flatMap(gatewayConfig.get, (c) => Effect.flatMap(Clock.currentTimeMillis, (now) => f(c, now)))
      const limiter = !useAt ? plain : {
        ...plain,
        reserve: (m: typeof model, tokens: number, keyId?: string) => at((c, now) => plain.reserveAt!(c, now, m, tokens, keyId)),
        settle: (r: RateLimiterModule.Reservation, tokens: number) => at((c, now) => plain.settleAt!(c, now, r, tokens)),
        release: (r: RateLimiterModule.Reservation) => at((c, now) => plain.releaseAt!(c, now, r))
      }
      const seen: Array<unknown> = []
      const attempt = (tokens: number, keyId?: string) =>
        Effect.map(Effect.either(limiter.reserve(model, tokens, keyId)), (r) => {
          seen.push(r._tag === "Right" ? ["ok", r.right.tokens, r.right.keyId] : ["refused", r.left.dimension, r.left.retryAfterMs])
          return r._tag === "Right" ? r.right : undefined
        })
      const a = yield* attempt(400, "k1")
      yield* TestClock.adjust("1 second")
      const b = yield* attempt(400, "k2")
      yield* attempt(400, "k1")
      if (a !== undefined) yield* limiter.settle(a, 100)
      yield* attempt(400, "k1")
      seen.push(yield* limiter.headroom(model, 500, "k1"))
      if (b !== undefined) yield* limiter.release(b)
      yield* limiter.observe(model, RateLimitInfo.make({ remainingRequests: 0, resetRequestsMs: 5_000 }), "k2")
      yield* attempt(10, "k2")
      yield* attempt(10, "k1")
      yield* attempt(10)
      seen.push(yield* limiter.headroom(model, 10, "k2"))
      yield* TestClock.adjust("61 seconds")
      seen.push(yield* limiter.headroom(model, 10, "k2"))
      yield* attempt(10, "k2")
      return { seen, events: (yield* Ref.get(published)).map((e) => JSON.stringify({ ...e, at: e.at - start })) }
    }).pipe(Effect.provide(Layer.merge(layer, GatewayConfig.layerStatic(config))))
  })

describe("RateLimiter on a remote store", () => {
  it.effect("a store without applySync (one effect per key) behaves exactly like the in-process one", () =>
    Effect.gen(function* () {
      const inProcess = yield* scenario(LimiterStoreModule.layerMemory)
      const remote = yield* scenario(
        Layer.effect(
          LimiterStore,
          Effect.map(LimiterStoreModule.makeMemory, (memory) => LimiterStore.of({ apply: memory.apply, snapshot: memory.snapshot }))
        )
      )
      assert.deepStrictEqual(remote, inProcess)
      // and the `…At` members (caller's config and time) on both stores
      assert.deepStrictEqual(yield* scenario(LimiterStoreModule.layerMemory, true), inProcess)
      // and the scenario did see refusals, warnings, a provider block and a reset
      assert.isTrue(inProcess.seen.some((s) => Array.isArray(s) && s[0] === "refused"))
      for (const tag of ["RateLimitWarning", "RateLimited", "WindowReset"]) {
        assert.isTrue(inProcess.events.some((e) => e.includes(`"_tag":"${tag}"`)), tag)
      }
    }))
})
