/**
 * Concurrent requests share their provider's round robin over its keys. A
 * call whose first key has no room tries the provider's other keys, each
 * once, whatever the other requests take from the round robin meanwhile.
 * Before the fix a call asked the shared round robin for each next key and
 * stopped once it handed back the first: with requests of another model of
 * the provider (key windows are per model) taking turns while its reserve
 * waited on the limiter's store (as a store shared by instances does), it
 * came round without trying a key that had room, and was refused.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import { Gateway } from "../src/Gateway.js"
import type { Provider } from "../src/Provider.js"
import * as RateLimiter from "../src/RateLimiter.js"
import { LimiterStore, makeMemory } from "../src/RateLimiter/LimiterStore.js"
import { ask, costStack, requirements } from "./CostStack.js"
import { response } from "./ResponseCacheFixtures.js"
import { model } from "./RoutingFixtures.js"

/** An "openai" double answering every call, recording the model and key of each. */
const recordingProvider = (calls: Array<string>): Provider => ({
  id: "openai",
  requiresKey: true,
  chat: (ctx) =>
    Effect.sync(() => {
      calls.push(`${ctx.model.id} ${ctx.key?.id}`)
      return { response: response("ok", { model: ctx.model.id }), rateLimit: undefined, providerRequestId: undefined }
    }),
  stream: () => Effect.dieMessage("not streamed here"),
  probe: () => Effect.succeed({ ok: true, latencyMs: 0, error: undefined })
})

/** The memory limiter store, each step answered after a yield: as a store shared by instances answers after its round trip. */
const yieldingStore = Layer.effect(
  LimiterStore,
  Effect.map(makeMemory, (memory) =>
    LimiterStore.of({
      snapshot: memory.snapshot,
      apply: (key, now, windowMs, op) => Effect.zipRight(Effect.yieldNow(), memory.apply(key, now, windowMs, op)),
      applySync: undefined
    }))
)

/** Two models of one provider, each at 1 request a minute per key. */
const models = [model("x", { rateLimits: { rpm: 1, tpm: 1_000_000 } }), model("y", { rateLimits: { rpm: 1, tpm: 1_000_000 } })]

describe("key rotation under concurrency", () => {
  it.effect("a call whose first key is full tries every other key, while other requests take turns", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(Date.UTC(2026, 0, 15, 12))
      const calls: Array<string> = []
      const limiter = RateLimiter.layer.pipe(Layer.provide(yieldingStore))
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        // y on key 0: y's key 0 is full for the minute, its key 1 free.
        yield* gateway.complete(ask("y"), requirements)
        // Then at once: x (next turn: key 1), y (key 0, full: key 1 has room), x (key 0).
        const answers = yield* Effect.all(
          [gateway.complete(ask("x", "a"), requirements), gateway.complete(ask("y", "b"), requirements), gateway.complete(ask("x", "c"), requirements)],
          { concurrency: "unbounded", mode: "either" }
        )
        assert.deepStrictEqual(answers.map((a) => a._tag), ["Right", "Right", "Right"], "a request was refused while a key had room for it")
        assert.deepStrictEqual([...calls].sort(), ["x openai#0", "x openai#1", "y openai#0", "y openai#1"])
      }).pipe(Effect.provide(costStack(models, recordingProvider(calls), {}, limiter, { openai: ["sk-0", "sk-1"] })))
    }))

  it.effect("N concurrent requests on N keys of 1 request a minute each: each key is used once, none refused", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(Date.UTC(2026, 0, 15, 12))
      const calls: Array<string> = []
      const limiter = RateLimiter.layer.pipe(Layer.provide(yieldingStore))
      const keys = ["sk-0", "sk-1", "sk-2", "sk-3"]
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const answers = yield* Effect.all(keys.map((_, i) => gateway.complete(ask("y", `q${i}`), requirements)), {
          concurrency: "unbounded",
          mode: "either"
        })
        assert.deepStrictEqual(answers.map((a) => a._tag), keys.map(() => "Right"))
        assert.deepStrictEqual([...calls].sort(), keys.map((_, i) => `y openai#${i}`))
      }).pipe(Effect.provide(costStack(models, recordingProvider(calls), {}, limiter, { openai: keys })))
    }))
})
