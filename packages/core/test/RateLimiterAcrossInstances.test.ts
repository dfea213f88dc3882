/**
 * Rate limits hold across gateway instances on one database: each instance
 * admits on its own windows in memory and, every `rateLimits.syncIntervalMs`,
 * writes what it counted and reads what the others counted
 * (`LimiterUsageStore`), so a model's limit is shared by every instance
 * rather than given whole to each: never counted twice, released capacity
 * returned, old buckets leaving the window, and a failing store leaving each
 * instance serving on what it knows. A provider's block (0 remaining) one
 * instance learned holds on the others until the provider's reset.
 */
import { assert, describe, it } from "@effect/vitest"
import { StoreError } from "@modelgate/domain/Errors"
import { RateLimitInfo } from "@modelgate/domain/RateLimitInfo"
import { Context, Effect, Either, Layer, Logger, Ref, TestClock } from "effect"
import { Events } from "../src/Events.js"
import * as GatewayConfig from "../src/GatewayConfig.js"
import { defaultConfig, GatewayConfigData, RateLimitConfig } from "../src/GatewayConfigSchema.js"
import { InstanceId } from "../src/InstanceId.js"
import { LimiterUsageStore, makeMemory as usageMemory } from "../src/LimiterUsageStore.js"
import * as RateLimiterModule from "../src/RateLimiter.js"
import { RateLimiter } from "../src/RateLimiter.js"
import { layerMemory as limiterStoreMemory } from "../src/RateLimiter/LimiterStore.js"
import * as RecordSink from "../src/RecordSink.js"
import { makeEvents } from "./RoutingFixtures.js"
import { limitedModel } from "./TestModels.js"

const SECOND = 1_000
const model = limitedModel(10, 100_000)

/** The configuration with `rateLimits` overridden. */
const configWith = (rateLimits: Partial<RateLimitConfig>) =>
  GatewayConfigData.make({ ...defaultConfig, rateLimits: RateLimitConfig.make({ ...defaultConfig.rateLimits, ...rateLimits }) })

/** One instance `id` on `usage`: its own limiter (syncing every second unless `config` says otherwise). */
const instance = (id: string, usage: LimiterUsageStore["Type"], config = defaultConfig) =>
  Effect.gen(function* () {
    const events = yield* makeEvents
    const context = yield* Layer.build(
      RateLimiterModule.layerWith({ defaultSyncIntervalMs: SECOND }).pipe(
        Layer.provide(limiterStoreMemory),
        Layer.provide(
          Layer.mergeAll(
            GatewayConfig.layerStatic(config),
            Layer.succeed(Events, events.service),
            RecordSink.layerMemory,
            Layer.succeed(LimiterUsageStore, usage),
            Layer.succeed(InstanceId, id)
          )
        )
      )
    )
    const limiter = Context.get(context, RateLimiter)
    /** Reserve `n` calls of 100 tokens: how many were admitted. */
    /** The RateLimited events this instance published: [dimension, retryAfterMs]. */
    const limited = Effect.map(events.all, (all) => all.flatMap((e) => (e._tag === "RateLimited" ? [[e.dimension, e.retryAfterMs]] : [])))
    const reserve = (n: number, tokens = 100) =>
      Effect.gen(function* () {
        const held = []
        for (let i = 0; i < n; i++) {
          const r = yield* Effect.either(limiter.reserve(model, tokens))
          if (r._tag === "Right") held.push(r.right)
        }
        return held
      })
    return { limiter, limited, reserve }
  })

/** Let the sync fibers run their sync of the current instant. */
const settle = TestClock.adjust(0)

describe("RateLimiter across instances", () => {
  it.scoped("what one instance admitted counts on the other after a sync: the limit is shared, not given to each", () =>
    Effect.gen(function* () {
      const usage = yield* usageMemory
      const a = yield* instance("a", usage)
      const b = yield* instance("b", usage)
      assert.strictEqual((yield* a.reserve(6)).length, 6)
      yield* TestClock.adjust(SECOND)
      // B never used the model before: the others' 6 count at its first request.
      assert.strictEqual((yield* b.reserve(10)).length, 4)
      // And A learns B's 4 (at its first sync after B wrote them): the window is full for both.
      yield* TestClock.adjust(2 * SECOND)
      assert.strictEqual((yield* a.reserve(1)).length, 0)
      const refused = yield* Effect.flip(b.limiter.reserve(model, 100))
      assert.strictEqual(refused.dimension, "requests")
    }))

  it.scoped("each sync replaces the others' counts: repeated syncs never count a request twice", () =>
    Effect.gen(function* () {
      const usage = yield* usageMemory
      const a = yield* instance("a", usage)
      const b = yield* instance("b", usage)
      yield* a.reserve(3)
      for (let i = 0; i < 5; i++) yield* TestClock.adjust(SECOND)
      const room = yield* b.limiter.headroom(model, 100)
      assert.strictEqual(room.requestsUsed, 3)
      assert.strictEqual((yield* b.reserve(10)).length, 7)
    }))

  it.scoped("capacity released on one instance is room on the other after the next sync", () =>
    Effect.gen(function* () {
      const usage = yield* usageMemory
      const a = yield* instance("a", usage)
      const b = yield* instance("b", usage)
      const held = yield* a.reserve(10)
      yield* TestClock.adjust(SECOND)
      assert.strictEqual((yield* b.reserve(1)).length, 0)
      yield* Effect.forEach(held.slice(0, 4), (r) => a.limiter.release(r))
      yield* TestClock.adjust(SECOND)
      assert.strictEqual((yield* b.reserve(10)).length, 4)
    }))

  it.scoped("tokens are shared too: a settle's actual count is what the others see", () =>
    Effect.gen(function* () {
      const usage = yield* usageMemory
      const a = yield* instance("a", usage)
      const b = yield* instance("b", usage)
      const [r] = yield* a.reserve(1, 1_000)
      yield* a.limiter.settle(r!, 90_000)
      yield* TestClock.adjust(SECOND)
      const refused = yield* Effect.flip(b.limiter.reserve(model, 20_000))
      assert.strictEqual(refused.dimension, "tokens")
      assert.strictEqual((yield* b.reserve(1, 9_000)).length, 1)
    }))

  it.scoped("the others' requests leave the window with their bucket; the store forgets them", () =>
    Effect.gen(function* () {
      const usage = yield* usageMemory
      const a = yield* instance("a", usage)
      const b = yield* instance("b", usage)
      yield* a.reserve(10)
      yield* TestClock.adjust(SECOND)
      assert.strictEqual((yield* b.reserve(1)).length, 0)
      yield* TestClock.adjust(61 * SECOND)
      assert.strictEqual((yield* b.reserve(10)).length, 10)
      // Pruned once a window: A's 10 of the first bucket are no longer stored.
      yield* TestClock.adjust(61 * SECOND)
      assert.deepStrictEqual(yield* usage.othersSince("b", SECOND, 0), [])
    }))

  it.scoped("an instance started later learns the window at its start", () =>
    Effect.gen(function* () {
      const usage = yield* usageMemory
      const a = yield* instance("a", usage)
      yield* a.reserve(8)
      yield* TestClock.adjust(SECOND)
      const c = yield* instance("c", usage)
      yield* settle
      assert.strictEqual((yield* c.reserve(10)).length, 2)
    }))

  it.scoped("rateLimits.syncIntervalMs sets the interval: nothing is shared before it", () =>
    Effect.gen(function* () {
      const usage = yield* usageMemory
      const config = configWith({ syncIntervalMs: 10 * SECOND })
      const a = yield* instance("a", usage, config)
      const b = yield* instance("b", usage, config)
      yield* settle
      yield* a.reserve(6)
      yield* TestClock.adjust(5 * SECOND)
      assert.strictEqual((yield* b.limiter.headroom(model, 100)).requestsUsed, 0)
      yield* TestClock.adjust(5 * SECOND)
      // Both synced at 10 s; B syncing after A wrote may have read before: the next read has it.
      yield* TestClock.adjust(10 * SECOND)
      assert.strictEqual((yield* b.limiter.headroom(model, 100)).requestsUsed, 6)
    }))

  it.scoped("a key the provider refused on one instance is not used by the other until the provider's reset", () =>
    Effect.gen(function* () {
      const usage = yield* usageMemory
      const a = yield* instance("a", usage)
      const b = yield* instance("b", usage)
      yield* a.limiter.observe(model, RateLimitInfo.make({ remainingRequests: 0, resetRequestsMs: 20 * SECOND }), "openai#0")
      yield* TestClock.adjust(SECOND)
      const refused = yield* Effect.flip(b.limiter.reserve(model, 100, "openai#0"))
      assert.strictEqual(refused.dimension, "provider")
      assert.strictEqual(refused.retryAfterMs, 19 * SECOND)
      // The other key, and the model's own window, have room.
      assert.isTrue(Either.isRight(yield* Effect.either(b.limiter.reserve(model, 100, "openai#1"))))
      yield* TestClock.adjust(19 * SECOND)
      assert.isTrue(Either.isRight(yield* Effect.either(b.limiter.reserve(model, 100, "openai#0"))))
    }))

  it.scoped("a model the provider refused (every key, or a keyless model) is rate limited on every instance, announced by each", () =>
    Effect.gen(function* () {
      const usage = yield* usageMemory
      const a = yield* instance("a", usage)
      const b = yield* instance("b", usage)
      yield* a.limiter.observe(model, RateLimitInfo.make({ remainingRequests: 0, resetRequestsMs: 10 * SECOND }))
      yield* TestClock.adjust(SECOND)
      const room = yield* b.limiter.headroom(model, 100)
      assert.isFalse(room.fits)
      assert.strictEqual(room.retryAfterMs, 9 * SECOND)
      assert.deepStrictEqual(yield* b.limited, [["provider", 9 * SECOND]])
      yield* TestClock.adjust(9 * SECOND)
      assert.isTrue((yield* b.limiter.headroom(model, 100)).fits)
    }))

  it.scoped("a failing store: each instance serves on what it knows, logs once, and shares again once it answers", () =>
    Effect.gen(function* () {
      const memory = yield* usageMemory
      const down = yield* Ref.make(false)
      const fail = <A>(effect: Effect.Effect<A, StoreError>) =>
        Effect.flatMap(Ref.get(down), (d) => (d ? Effect.fail(new StoreError({ operation: "limiter usage", reason: "database unreachable" })) : effect))
      const usage = LimiterUsageStore.of({
        put: (i, b, u) => fail(memory.put(i, b, u)),
        othersSince: (i, b, f) => fail(memory.othersSince(i, b, f)),
        putBlocks: (i, blocks) => fail(memory.putBlocks(i, blocks)),
        othersBlocks: (i, now) => fail(memory.othersBlocks(i, now)),
        prune: (before) => fail(memory.prune(before))
      })
      const logs: Array<string> = []
      const logger = Logger.make(({ message }) => void logs.push(String(message)))
      const instances = Effect.gen(function* () {
        const a = yield* instance("a", usage)
        const b = yield* instance("b", usage)
        yield* a.reserve(3)
        yield* TestClock.adjust(SECOND)
        yield* Ref.set(down, true)
        yield* a.reserve(3)
        yield* TestClock.adjust(3 * SECOND)
        // B keeps the 3 it read last, and admits on it.
        assert.strictEqual((yield* b.limiter.headroom(model, 100)).requestsUsed, 3)
        yield* Ref.set(down, false)
        yield* TestClock.adjust(2 * SECOND)
        // A's 3 written during the outage reach B once the store answers again.
        assert.strictEqual((yield* b.limiter.headroom(model, 100)).requestsUsed, 6)
      })
      yield* instances.pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
      const failures = logs.filter((l) => l.includes("could not share"))
      // One log per instance for the run of failures, not one per sync.
      assert.strictEqual(failures.length, 2)
      assert.strictEqual(logs.filter((l) => l.includes("shared again")).length, 2)
    }))
})
