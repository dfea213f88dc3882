/**
 * The selector ranks a model by the room on its provider's keys: rate limited
 * when the provider refuses every key (each blocked until its retry hint),
 * available while at least one key has room, whatever the number of keys.
 * Real limiter (memory store) and ApiKeys; health and events are doubles.
 */
import { assert, describe, it } from "@effect/vitest"
import { RateLimitInfo } from "@modelgate/domain/RateLimitInfo"
import { Clock, Effect, TestClock } from "effect"
import { defaultConfig } from "../src/GatewayConfigSchema.js"
import * as ModelSelector from "../src/ModelSelector.js"
import { RateLimiter } from "../src/RateLimiter.js"
import { LimiterStore, makeMemory } from "../src/RateLimiter/LimiterStore.js"
import { limiterStack } from "./LimiterStack.js"
import { testModel } from "./TestModels.js"

const mini = testModel("mini")
const input: ModelSelector.SelectionInput = {
  requirements: { capabilities: [], priority: "MEDIUM" },
  estimatedPromptTokens: 100,
  maxOutputTokens: 100
}

/** A provider's refusal of `keyId` for `ms` (a 429's retry hint), as the gateway records it. */
const refuse = (keyId: string, ms: number) =>
  Effect.flatMap(RateLimiter, (limiter) => limiter.observe(mini, RateLimitInfo.make({ remainingRequests: 0, resetRequestsMs: ms }), keyId))

/**
 * The selector over `mini` on "openai" with `keys` keys, the real limiter on a
 * memory store whose store keys peeked are listed in `reads`; `remote`: the
 * store without `applySync`, as a shared store is.
 */
const setup = (keys: number, remote = false) =>
  Effect.gen(function* () {
    const memory = yield* makeMemory
    const reads: Array<string> = []
    const applySync: typeof memory.applySync = (key, now, windowMs, op) => {
      if (op._tag === "Peek") reads.push(key)
      return memory.applySync!(key, now, windowMs, op)
    }
    const store = LimiterStore.of({
      snapshot: memory.snapshot,
      apply: (key, now, windowMs, op) => Effect.sync(() => applySync(key, now, windowMs, op)),
      applySync: remote ? undefined : applySync
    })
    const { context } = yield* limiterStack(store, keys, [mini])
    const selector = yield* Effect.provide(ModelSelector.make, context)
    /** `rank` and `rankAt` (the gateway's call) agree; the ranking of `rankAt`. */
    const rank = Effect.gen(function* () {
      const byRank = yield* selector.rank(input)
      const byRankAt = yield* selector.rankAt!(defaultConfig, yield* Clock.currentTimeMillis, input)
      assert.deepStrictEqual(
        byRankAt.excluded.map((e) => [e.model, e.kind, e.retryAfterMs]),
        byRank.excluded.map((e) => [e.model, e.kind, e.retryAfterMs])
      )
      return byRankAt
    })
    return { context, rank, reads }
  })

describe("ModelSelector: a model's room is the room on its provider's keys", () => {
  it.scoped("when the provider refuses both of two keys, the model is rate limited until the first key's hint passes", () =>
    Effect.gen(function* () {
      const { context, rank } = yield* setup(2)
      yield* Effect.provide(Effect.zipRight(refuse("openai#0", 2_000), refuse("openai#1", 3_000)), context)
      const limited = yield* rank
      assert.lengthOf(limited.ranked, 0)
      assert.deepStrictEqual(limited.excluded.map((e) => [e.model, e.kind, e.retryAfterMs]), [["mini", "rate_limited", 2_000]])
      assert.strictEqual(limited.retryAfterMs, 2_000)
      yield* TestClock.adjust(2_000)
      assert.deepStrictEqual((yield* rank).ranked.map((s) => s.model.id), ["mini"])
    }))

  it.scoped("on a store without applySync (a shared store), the provider refusing both keys rate-limits the model too", () =>
    Effect.gen(function* () {
      const { context, rank } = yield* setup(2, true)
      yield* Effect.provide(refuse("openai#0", 2_000), context)
      assert.deepStrictEqual((yield* rank).ranked.map((s) => s.model.id), ["mini"])
      yield* Effect.provide(refuse("openai#1", 3_000), context)
      assert.deepStrictEqual((yield* rank).excluded.map((e) => [e.model, e.kind, e.retryAfterMs]), [["mini", "rate_limited", 2_000]])
      yield* TestClock.adjust(2_000)
      assert.deepStrictEqual((yield* rank).ranked.map((s) => s.model.id), ["mini"])
    }))

  it.scoped("when the provider refuses one of two keys, the model stays available", () =>
    Effect.gen(function* () {
      const { context, rank } = yield* setup(2)
      yield* Effect.provide(refuse("openai#0", 30_000), context)
      const ranking = yield* rank
      assert.deepStrictEqual(ranking.ranked.map((s) => s.model.id), ["mini"])
      assert.lengthOf(ranking.excluded, 0)
    }))

  it.scoped("when the provider refuses its only key, the model is rate limited until the hint passes", () =>
    Effect.gen(function* () {
      const { context, rank } = yield* setup(1)
      yield* Effect.provide(refuse("openai#0", 2_000), context)
      assert.deepStrictEqual((yield* rank).excluded.map((e) => [e.model, e.kind, e.retryAfterMs]), [["mini", "rate_limited", 2_000]])
      yield* TestClock.adjust(2_000)
      assert.deepStrictEqual((yield* rank).ranked.map((s) => s.model.id), ["mini"])
    }))

  it.scoped("a ranking reads no key window while no key of the model was refused, nor once the refusal has passed", () =>
    Effect.gen(function* () {
      const { context, rank, reads } = yield* setup(3)
      yield* rank
      assert.deepStrictEqual(reads, ["mini", "mini"])
      yield* Effect.provide(refuse("openai#1", 1_000), context)
      reads.length = 0
      yield* rank
      assert.isTrue(reads.some((k) => k.startsWith("mini@openai#")), `key windows read: ${reads.join(", ")}`)
      yield* TestClock.adjust(1_000)
      reads.length = 0
      yield* rank
      assert.deepStrictEqual(reads, ["mini", "mini"])
    }))
})
