/**
 * Two gateway instances on one shared limiter store (a store without
 * `applySync`, as Redis is), each with its own limiter, keys, selector and
 * event bus. What one instance learns from a provider's 429 on a key holds
 * for the other: it never sends a request on that key while the block holds
 * (its reservation on the key is refused by the shared key window, so it
 * takes its next key), and once the provider blocks every key, whichever
 * instance saw the last one blocks the model in the shared store: both rank
 * the model out as rate limited until its first key frees, and the model is
 * announced rate limited once, by that instance (the "announced" mark lives
 * in the shared window, so the other instance does not announce it again).
 */
import { assert, describe, it } from "@effect/vitest"
import type { GatewayEvent } from "@modelgate/domain/Events"
import { RateLimitInfo } from "@modelgate/domain/RateLimitInfo"
import { Clock, Effect, TestClock } from "effect"
import { defaultConfig } from "../src/GatewayConfigSchema.js"
import * as ModelSelector from "../src/ModelSelector.js"
import { LimiterStore, makeMemory } from "../src/RateLimiter/LimiterStore.js"
import { limiterStack } from "./LimiterStack.js"
import { testModel } from "./TestModels.js"

const mini = testModel("mini")
const input: ModelSelector.SelectionInput = {
  requirements: { capabilities: [], priority: "MEDIUM" },
  estimatedPromptTokens: 100,
  maxOutputTokens: 100
}

/** One gateway instance over `store`: its limiter, keys ("openai", two), selector and events. */
const instance = (store: LimiterStore["Type"]) =>
  Effect.gen(function* () {
    const { context, events, keysOf, limiter } = yield* limiterStack(store, 2, [mini])
    const selector = yield* Effect.provide(ModelSelector.make, context)
    /** The provider answers this instance's call on `keyId` with a 429 for `ms`, as the gateway records it. */
    const refused = (keyId: string, ms: number) =>
      limiter.observe(mini, RateLimitInfo.make({ remainingRequests: 0, resetRequestsMs: ms }), keyId, keysOf)
    /** The gateway's ranking (`rankAt`): mini's exclusion as [kind, retryAfterMs], or "ranked". */
    const rank = Effect.gen(function* () {
      const ranking = yield* selector.rankAt!(defaultConfig, yield* Clock.currentTimeMillis, input)
      return ranking.ranked.length > 0 ? "ranked" : ranking.excluded.map((e) => [e.kind, e.retryAfterMs])
    })
    /** This instance's reservation of a call on `keyId`: its id, or the dimension that refused it. */
    const reserve = (keyId: string) =>
      Effect.match(limiter.reserve(mini, 200, keyId), { onFailure: (e) => `refused: ${e.dimension}`, onSuccess: (r) => r.keyId })
    /** The model-wide RateLimited events this instance published (at). */
    const modelLimited = Effect.map(events.all, (all) =>
      all.flatMap((e: GatewayEvent) => (e._tag === "RateLimited" && e.keyId === undefined ? [e.at] : [])))
    return { refused, rank, reserve, modelLimited }
  })

/** Two instances on one shared store without `applySync`. */
const twoInstances = Effect.gen(function* () {
  const memory = yield* makeMemory
  const shared = LimiterStore.of({ apply: memory.apply, snapshot: memory.snapshot })
  return { a: yield* instance(shared), b: yield* instance(shared) }
})

describe("RateLimiter: two instances on one shared store", () => {
  it.scoped("a key blocked by the other instance: still ranked (its other key has room), never called on that key", () =>
    Effect.gen(function* () {
      const { a, b } = yield* twoInstances
      yield* a.refused("openai#0", 2_000)
      assert.strictEqual(yield* b.rank, "ranked")
      // The block is in the shared key window: B's reservation on that key is refused before any call.
      assert.strictEqual(yield* b.reserve("openai#0"), "refused: provider")
      assert.strictEqual(yield* b.reserve("openai#1"), "openai#1")
      assert.deepStrictEqual(yield* b.modelLimited, [])
    }))

  it.scoped("every key blocked, each by a different instance: both rank the model out, and it is announced once", () =>
    Effect.gen(function* () {
      const { a, b } = yield* twoInstances
      yield* a.refused("openai#0", 2_000)
      yield* TestClock.adjust(500)
      yield* b.refused("openai#1", 3_000)
      assert.deepStrictEqual(yield* a.rank, [["rate_limited", 1_500]])
      assert.deepStrictEqual(yield* b.rank, [["rate_limited", 1_500]])
      // B saw the last key refused: it blocked the model and announced it; A, ranking it out, announces nothing again.
      assert.deepStrictEqual(yield* b.modelLimited, [500])
      assert.deepStrictEqual(yield* a.modelLimited, [])
      assert.strictEqual(yield* a.reserve("openai#1"), "refused: provider")
      yield* TestClock.adjust(1_500)
      assert.strictEqual(yield* a.rank, "ranked")
      assert.strictEqual(yield* b.rank, "ranked")
    }))

  it.scoped("every key blocked by the other instance: this one ranks the model out without any refusal of its own", () =>
    Effect.gen(function* () {
      const { a, b } = yield* twoInstances
      yield* a.refused("openai#0", 2_000)
      yield* a.refused("openai#1", 3_000)
      assert.deepStrictEqual(yield* b.rank, [["rate_limited", 2_000]])
      assert.deepStrictEqual(yield* a.modelLimited, [0])
      assert.deepStrictEqual(yield* b.modelLimited, [])
    }))
})
