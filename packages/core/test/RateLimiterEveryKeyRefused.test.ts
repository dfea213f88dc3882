/**
 * When the provider refuses the last usable key of a model (a 429's retry
 * hint, `remaining: 0`), the model itself is announced rate limited, once,
 * with the time its first key frees (`RateLimited` without a key), and
 * announced back (`WindowReset` without a key) on the first look after that
 * time, as a model whose own window was limited is. Per-key events name
 * their key. Real limiter (memory store, and the same without `applySync`, as
 * a shared store is) and ApiKeys; events are recorded.
 */
import { assert, describe, it } from "@effect/vitest"
import type { GatewayEvent } from "@modelgate/domain/Events"
import { RateLimitInfo } from "@modelgate/domain/RateLimitInfo"
import { Effect, TestClock } from "effect"
import { LimiterStore, makeMemory } from "../src/RateLimiter/LimiterStore.js"
import { limiterStack } from "./LimiterStack.js"
import { testModel } from "./TestModels.js"

const mini = testModel("mini")

/** The limiter over `keys` "openai" keys; `remote`: a store without `applySync`. */
const setup = (keys: number, remote = false) =>
  Effect.gen(function* () {
    const memory = yield* makeMemory
    const store = remote ? LimiterStore.of({ apply: memory.apply, snapshot: memory.snapshot }) : memory
    const { events, keysOf, limiter } = yield* limiterStack(store, keys, [mini])
    /** The provider refuses `keyId` for `ms`, as the gateway records a 429 with that retry hint. */
    const refuse = (keyId: string, ms: number) =>
      limiter.observe(mini, RateLimitInfo.make({ remainingRequests: 0, resetRequestsMs: ms }), keyId, keysOf)
    /** The selector's look at the model (with its keys). */
    const look = Effect.map(limiter.headroomAll!([{ model: mini, estimatedTokens: 100 }], keysOf), (rooms) => rooms[0]!)
    /** The model-wide RateLimited / WindowReset events (no key), as [tag, at, retryAfterMs]. */
    const modelWide = Effect.map(events.all, (all) =>
      all.flatMap((e: GatewayEvent) =>
        (e._tag === "RateLimited" || e._tag === "WindowReset") && e.model === "mini" && e.keyId === undefined
          ? [[e._tag, e.at, e._tag === "RateLimited" ? e.retryAfterMs : undefined] as const]
          : []
      ))
    return { refuse, look, modelWide, all: events.all }
  })

describe("RateLimiter: a model whose provider refuses every key is announced rate limited", () => {
  for (const remote of [false, true]) {
    const store = remote ? " (a store without applySync)" : ""

    it.scoped(`the last key refused: one RateLimited for the model until its first key frees, then one WindowReset${store}`, () =>
      Effect.gen(function* () {
        const { look, modelWide, refuse } = yield* setup(2, remote)
        yield* refuse("openai#0", 2_000)
        assert.deepStrictEqual(yield* modelWide, [], "one key of two refused: the model is usable")
        yield* TestClock.adjust(500)
        yield* refuse("openai#1", 3_000)
        assert.deepStrictEqual(yield* modelWide, [["RateLimited", 500, 1_500]])
        // more refusals of requests already under way (and looks) announce nothing new
        yield* refuse("openai#1", 3_000)
        yield* refuse("openai#0", 1_500)
        assert.isFalse((yield* look).fits)
        assert.deepStrictEqual(yield* modelWide, [["RateLimited", 500, 1_500]])
        yield* TestClock.adjust(1_499)
        assert.isFalse((yield* look).fits)
        assert.deepStrictEqual(yield* modelWide, [["RateLimited", 500, 1_500]])
        yield* TestClock.adjust(1)
        assert.isTrue((yield* look).fits)
        yield* look
        assert.deepStrictEqual(yield* modelWide, [["RateLimited", 500, 1_500], ["WindowReset", 2_000, undefined]])
      }))

    it.scoped(`the model is announced again when every key is refused again after it was back${store}`, () =>
      Effect.gen(function* () {
        const { look, modelWide, refuse } = yield* setup(1, remote)
        yield* refuse("openai#0", 1_000)
        yield* TestClock.adjust(1_000)
        assert.isTrue((yield* look).fits)
        yield* refuse("openai#0", 4_000)
        assert.deepStrictEqual(yield* modelWide, [["RateLimited", 0, 1_000], ["WindowReset", 1_000, undefined], ["RateLimited", 1_000, 4_000]])
      }))
  }

  it.scoped("a refused key's own events name the key; the model-wide ones name none", () =>
    Effect.gen(function* () {
      const { all, refuse } = yield* setup(2)
      yield* refuse("openai#0", 2_000)
      yield* refuse("openai#1", 3_000)
      const limited = (yield* all).flatMap((e) => (e._tag === "RateLimited" ? [[e.keyId, e.retryAfterMs]] : []))
      assert.deepStrictEqual(limited, [["openai#0", 2_000], ["openai#1", 3_000], [undefined, 2_000]])
    }))

  it.scoped("a refusal of one key of three announces nothing for the model, whose look still fits", () =>
    Effect.gen(function* () {
      const { look, modelWide, refuse } = yield* setup(3)
      yield* refuse("openai#0", 2_000)
      yield* refuse("openai#2", 2_000)
      assert.isTrue((yield* look).fits)
      assert.deepStrictEqual(yield* modelWide, [])
    }))
})
