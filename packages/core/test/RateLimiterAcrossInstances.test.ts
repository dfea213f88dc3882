/**
 * Rate limits hold across gateway instances on one database: each instance
 * admits on its own windows in memory and, every `rateLimits.syncIntervalMs`,
 * writes what it counted and reads what the others counted
 * (`LimiterUsageStore`), so a model's limit is shared by every instance
 * rather than given whole to each: never counted twice, released capacity
 * returned, old buckets leaving the window, and a failing store leaving each
 * instance serving on what it knows. A provider's block (0 remaining) one
 * instance learned holds on the others until the provider's reset. While
 * several instances run, each admits between two syncs at most its share of
 * the room left, so a burst reaching all of them at once stays within the
 * limit.
 */
import { assert, describe, it } from "@effect/vitest"
import { StoreError } from "@modelgate/domain/Errors"
import { RateLimitInfo } from "@modelgate/domain/RateLimitInfo"
import { Context, Effect, Either, Exit, Layer, Logger, Ref, Scope, TestClock } from "effect"
import * as ApiKeys from "../src/ApiKeys.js"
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
/** A model whose limit the tests of sharing counts stay well below (no instance reaches its share of it). */
const roomy = limitedModel(100, 1_000_000, "roomy")

/** The configuration with `rateLimits` overridden. */
const configWith = (rateLimits: Partial<RateLimitConfig>) =>
  GatewayConfigData.make({ ...defaultConfig, rateLimits: RateLimitConfig.make({ ...defaultConfig.rateLimits, ...rateLimits }) })

/**
 * One instance `id` on `usage`: its own limiter (syncing every second unless
 * `config` says otherwise), with `openaiKeys` as its OpenAI keys (ids
 * `openai#0`, ... in that order) when given.
 */
const instance = (id: string, usage: LimiterUsageStore["Type"], config = defaultConfig, scope?: Scope.Scope, openaiKeys?: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const events = yield* makeEvents
    const layer = (
      RateLimiterModule.layerWith({ defaultSyncIntervalMs: SECOND }).pipe(
        Layer.provide(limiterStoreMemory),
        Layer.provide(
          Layer.mergeAll(
            GatewayConfig.layerStatic(config),
            Layer.succeed(Events, events.service),
            RecordSink.layerMemory,
            Layer.succeed(LimiterUsageStore, usage),
            Layer.succeed(InstanceId, id),
            openaiKeys === undefined ? Layer.empty : ApiKeys.layerStatic({ openai: openaiKeys })
          )
        )
      )
    )
    const context = yield* (scope === undefined ? Layer.build(layer) : Layer.buildWithScope(layer, scope))
    const limiter = Context.get(context, RateLimiter)
    /** The RateLimited events this instance published: [dimension, retryAfterMs]. */
    const limited = Effect.map(events.all, (all) => all.flatMap((e) => (e._tag === "RateLimited" ? [[e.dimension, e.retryAfterMs]] : [])))
    /** Reserve `n` calls of `tokens` on `on` (the model limited to 10 a minute): the reservations admitted. */
    const reserve = (n: number, tokens = 100, on = model) =>
      Effect.gen(function* () {
        const held = []
        for (let i = 0; i < n; i++) {
          const r = yield* Effect.either(limiter.reserve(on, tokens))
          if (r._tag === "Right") held.push(r.right)
        }
        return held
      })
    return { limiter, limited, reserve }
  })

/** Let the sync fibers run their sync of the current instant. */
const settle = TestClock.adjust(0)

describe("RateLimiter across instances", () => {
  it.scoped("what one instance admitted counts on the other after a sync, once however many syncs", () =>
    Effect.gen(function* () {
      const usage = yield* usageMemory
      const a = yield* instance("a", usage)
      const b = yield* instance("b", usage)
      assert.strictEqual((yield* a.reserve(30, 100, roomy)).length, 30)
      yield* TestClock.adjust(SECOND)
      // B never used the model before: the others' 30 count at its first look.
      assert.strictEqual((yield* b.limiter.headroom(roomy, 100)).requestsUsed, 30)
      for (let i = 0; i < 5; i++) yield* TestClock.adjust(SECOND)
      assert.strictEqual((yield* b.limiter.headroom(roomy, 100)).requestsUsed, 30)
      yield* b.reserve(20, 100, roomy)
      yield* TestClock.adjust(2 * SECOND)
      assert.strictEqual((yield* a.limiter.headroom(roomy, 100)).requestsUsed, 50)
    }))

  it.scoped("two instances taking all they can, second after second: together never over the limit, and it is used", () =>
    Effect.gen(function* () {
      const usage = yield* usageMemory
      const a = yield* instance("a", usage)
      const b = yield* instance("b", usage)
      // A second after they start, each has seen the other run.
      yield* TestClock.adjust(SECOND)
      let admitted = 0
      for (let second = 0; second < 10; second++) {
        admitted += (yield* a.reserve(10)).length + (yield* b.reserve(10)).length
        assert.isAtMost(admitted, 10, `second ${second}`)
        yield* TestClock.adjust(SECOND)
      }
      // Each keeps back at most one request for the other (its share of an odd room rounds down).
      assert.isAtLeast(admitted, 9)
    }))

  it.scoped("a burst reaching both instances at once after a quiet spell: each admits its half, not the whole limit", () =>
    Effect.gen(function* () {
      const usage = yield* usageMemory
      const a = yield* instance("a", usage)
      const b = yield* instance("b", usage)
      yield* TestClock.adjust(SECOND)
      assert.strictEqual((yield* a.reserve(10)).length, 5)
      assert.strictEqual((yield* b.reserve(10)).length, 5)
      const refused = yield* Effect.flip(a.limiter.reserve(model, 100))
      // Over its share: room may come at the next sync.
      assert.strictEqual(refused.dimension, "requests")
      assert.strictEqual(refused.retryAfterMs, SECOND)
    }))

  it.scoped("an instance that alone gets the traffic reaches the limit over some syncs, but for one request per other instance", () =>
    Effect.gen(function* () {
      const usage = yield* usageMemory
      const a = yield* instance("a", usage)
      yield* instance("b", usage)
      yield* TestClock.adjust(SECOND)
      const taken: Array<number> = []
      for (let second = 0; second < 8; second++) {
        taken.push((yield* a.reserve(10)).length)
        yield* TestClock.adjust(SECOND)
      }
      // At each sync, half the room left, after setting aside for B as much as A took since the last
      // (B may have taken as much, unread yet): 5, then 0, 2, 0, 1, 0, 1; the last request waits for B.
      assert.deepStrictEqual(taken, [5, 0, 2, 0, 1, 0, 1, 0])
    }))

  it.scoped("an instance that stops says so: at the next sync the one left has the whole limit again", () =>
    Effect.gen(function* () {
      const usage = yield* usageMemory
      const a = yield* instance("a", usage)
      const scope = yield* Scope.make()
      yield* instance("b", usage, defaultConfig, scope)
      yield* TestClock.adjust(SECOND)
      assert.strictEqual((yield* a.reserve(100, 100, roomy)).length, 50)
      yield* Scope.close(scope, Exit.void)
      yield* TestClock.adjust(SECOND)
      assert.strictEqual((yield* a.reserve(100, 100, roomy)).length, 50)
    }))

  it.scoped("how many instances share the limits is logged when it changes, not at every sync", () =>
    Effect.gen(function* () {
      const logs: Array<string> = []
      const logger = Logger.make(({ message }) => void logs.push(String(message)))
      yield* Effect.gen(function* () {
        const usage = yield* usageMemory
        yield* instance("a", usage)
        yield* settle
        const scope = yield* Scope.make()
        yield* instance("b", usage, defaultConfig, scope)
        yield* TestClock.adjust(3 * SECOND)
        yield* Scope.close(scope, Exit.void)
        yield* TestClock.adjust(3 * SECOND)
      }).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
      // A's lines: alone, then two, then alone again; B's: two (it started after A).
      assert.deepStrictEqual(logs.filter((l) => l.startsWith("rate limits:")), [
        "rate limits: no other instance running on this database; this one may use each limit whole",
        "rate limits: 2 instances running share each limit",
        "rate limits: 2 instances running share each limit",
        "rate limits: no other instance running on this database; this one may use each limit whole"
      ])
    }))

  it.scoped("an instance that vanished without a word keeps its share for 10 s, then no longer counts", () =>
    Effect.gen(function* () {
      const memory = yield* usageMemory
      const a = yield* instance("a", memory)
      const scope = yield* Scope.make()
      // B's process is killed: its stop is never heard.
      yield* instance("b", { ...memory, leave: () => Effect.void }, defaultConfig, scope)
      yield* TestClock.adjust(SECOND)
      yield* Scope.close(scope, Exit.void)
      yield* TestClock.adjust(5 * SECOND)
      // B still counts: A takes half the limit.
      assert.strictEqual((yield* a.reserve(100, 100, roomy)).length, 50)
      yield* TestClock.adjust(6 * SECOND)
      // B's last mark is 10 s old: A alone takes the rest (were B counted, half of it).
      assert.strictEqual((yield* a.reserve(100, 100, roomy)).length, 50)
    }))

  it.scoped("capacity released on one instance is room on the other after the next sync", () =>
    Effect.gen(function* () {
      const usage = yield* usageMemory
      const a = yield* instance("a", usage)
      const held = yield* a.reserve(10)
      // A ran alone when it reserved: all ten admitted.
      assert.strictEqual(held.length, 10)
      const b = yield* instance("b", usage)
      yield* TestClock.adjust(SECOND)
      assert.strictEqual((yield* b.reserve(1)).length, 0)
      yield* Effect.forEach(held.slice(0, 4), (r) => a.limiter.release(r))
      yield* TestClock.adjust(SECOND)
      // Four free, two instances running: B's share is two.
      assert.strictEqual((yield* b.reserve(10)).length, 2)
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
      // 10 000 tokens left, two instances: 5 000 are B's.
      assert.strictEqual((yield* b.reserve(1, 5_000)).length, 1)
    }))

  it.scoped("the others' requests leave the window with their bucket; the store forgets them", () =>
    Effect.gen(function* () {
      const usage = yield* usageMemory
      const a = yield* instance("a", usage)
      yield* a.reserve(10)
      const b = yield* instance("b", usage)
      yield* TestClock.adjust(SECOND)
      assert.strictEqual((yield* b.reserve(1)).length, 0)
      yield* TestClock.adjust(61 * SECOND)
      // A's ten have left the window; A still runs: B's share is half of the limit.
      assert.strictEqual((yield* b.reserve(10)).length, 5)
      // Pruned once a window: A's ten of the first bucket are no longer stored.
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
      // Two left, two instances running: one is C's.
      assert.strictEqual((yield* c.reserve(10)).length, 1)
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

  it.scoped("while keys rotate, a key window is shared by the key, not by its position in each instance's list", () =>
    Effect.gen(function* () {
      const usage = yield* usageMemory
      // A still has the old key first; B already dropped it, so the new key is B's openai#0 and A's openai#1.
      const a = yield* instance("a", usage, defaultConfig, undefined, ["sk-old", "sk-new"])
      const b = yield* instance("b", usage, defaultConfig, undefined, ["sk-new"])
      // A's openai#0 is the old key: its refusal does not stop B's openai#0, the new key.
      yield* a.limiter.observe(model, RateLimitInfo.make({ remainingRequests: 0, resetRequestsMs: 20 * SECOND }), "openai#0")
      yield* TestClock.adjust(SECOND)
      assert.isTrue(Either.isRight(yield* Effect.either(b.limiter.reserve(model, 100, "openai#0"))))
      // A's openai#1 is the new key: B does not send on it until the provider's reset.
      yield* a.limiter.observe(model, RateLimitInfo.make({ remainingRequests: 0, resetRequestsMs: 20 * SECOND }), "openai#1")
      yield* TestClock.adjust(SECOND)
      const refused = yield* Effect.flip(b.limiter.reserve(model, 100, "openai#0"))
      assert.strictEqual(refused.dimension, "provider")
      assert.strictEqual(refused.retryAfterMs, 19 * SECOND)
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
        beat: (i, at) => fail(memory.beat(i, at)),
        leave: (i) => fail(memory.leave(i)),
        othersRunning: (i, since) => fail(memory.othersRunning(i, since)),
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
