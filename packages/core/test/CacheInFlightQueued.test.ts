/**
 * Identical cacheable complete requests merged while their leader waits in
 * the queue: a follower is itself a waiting request, never sent. Its key
 * revoked while it waits, it is not answered (as it would not be, waiting
 * in the queue alone: `KeyRevoked`); and a follower of a higher priority
 * than its leader's is not held behind the leader's lower place in the
 * queue: it waits in the queue with its own priority.
 */
import { assert, describe, it } from "@effect/vitest"
import type { Usage } from "@modelgate/domain/Chat"
import type { ProviderError } from "@modelgate/domain/ProviderError"
import type { Priority, TaskRequirements } from "@modelgate/domain/Requirements"
import { Effect, Either, Fiber, Option, TestClock } from "effect"
import { Gateway } from "../src/Gateway.js"
import { BudgetLimit, BudgetsConfig, CacheConfig, defaultConfig, FailoverConfig } from "../src/GatewayConfigSchema.js"
import type { ChatResult, Provider } from "../src/Provider.js"
import { ask, costStack, requirements, storyAnswer } from "./CostStack.js"
import { model } from "./RoutingFixtures.js"

const usage: Usage = { prompt_tokens: 50, completion_tokens: 10, total_tokens: 60 }

/** Answers every call at once; `calls` counts them. */
const makeProvider = () => {
  const counter = { calls: 0 }
  const provider: Provider = {
    id: "openai",
    requiresKey: false,
    chat: (ctx) =>
      Effect.sync((): ChatResult => {
        counter.calls++
        return { response: storyAnswer(ctx.model.providerModel, usage), rateLimit: undefined, providerRequestId: undefined }
      }) as Effect.Effect<ChatResult, ProviderError>,
    stream: () => Effect.dieMessage("not streamed here"),
    probe: () => Effect.succeed({ ok: true, latencyMs: 0, error: undefined })
  }
  return { counter, provider }
}

// "slow" allows one request a minute: the warm-up takes it, the others wait in the queue.
const models = [model("slow", { rateLimits: { rpm: 1, tpm: 1_000_000 } })]
const config = {
  budgets: BudgetsConfig.make({ global: BudgetLimit.make({ daily: 100 }) }),
  cache: CacheConfig.make({ enabled: true }),
  failover: FailoverConfig.make({ ...defaultConfig.failover, backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 300_000 })
}

const story = ask("slow", "tell me a story", { temperature: 0 })
const at = (priority: Priority): TaskRequirements => ({ ...requirements, priority })

describe("identical cacheable requests merged behind a queued leader", () => {
  it.effect("a follower whose key is revoked while it waits is not answered: KeyRevoked, as waiting alone", () => {
    const { counter, provider } = makeProvider()
    return Effect.gen(function* () {
      const gateway = yield* Gateway
      yield* gateway.complete(ask("slow", "warm-up"), requirements)
      const leader = yield* Effect.fork(gateway.complete(story, requirements))
      yield* TestClock.adjust(10)
      let revoked = false
      const follower = yield* Effect.fork(Effect.either(gateway.complete(story, requirements, { keyRevoked: () => revoked })))
      yield* TestClock.adjust(10)
      revoked = true
      yield* TestClock.adjust(65_000)
      assert.isFalse((yield* Fiber.join(leader)).meta.cacheHit, "the leader is answered")
      const result = yield* Fiber.join(follower)
      assert.isTrue(Either.isLeft(result) && result.left._tag === "KeyRevoked", `revoked, got ${JSON.stringify(result)}`)
      assert.strictEqual(counter.calls, 2)
    }).pipe(Effect.provide(costStack(models, provider, config)))
  })

  it.effect("a CRITICAL follower of a LOW leader is served in its own turn, not the leader's", () => {
    const { provider } = makeProvider()
    return Effect.gen(function* () {
      const gateway = yield* Gateway
      yield* gateway.complete(ask("slow", "warm-up"), requirements)
      const low = yield* Effect.fork(gateway.complete(story, at("LOW")))
      yield* TestClock.adjust(10)
      const medium = yield* Effect.fork(gateway.complete(ask("slow", "other"), at("MEDIUM")))
      yield* TestClock.adjust(10)
      const critical = yield* Effect.fork(gateway.complete(story, at("CRITICAL")))
      // The minute's request frees once: the CRITICAL request goes first (alone, it would).
      yield* TestClock.adjust(62_000)
      const served = yield* Fiber.poll(critical)
      assert.isTrue(Option.isSome(served), "the CRITICAL request is answered at the first free slot")
      yield* TestClock.adjust(240_000)
      yield* Fiber.join(low)
      yield* Fiber.join(medium)
    }).pipe(Effect.provide(costStack(models, provider, config)))
  })
})
