/**
 * Identical cacheable complete requests in flight at once: with the response
 * cache on, only the first calls the provider; the others wait for its answer
 * and get it as cache hits (zero cost, nothing charged twice). A follower
 * whose client leaves just stops waiting; a leader whose client leaves runs
 * on (its call is complete), so its followers still get its answer; a leader
 * that fails hands nothing to its followers, which go on as if alone (one of
 * them leads). What the cache would not store is not merged, streams are not,
 * and nothing is merged while the cache is off.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ChatRequest, Usage } from "@modelgate/domain/Chat"
import { type ProviderError, ServerError } from "@modelgate/domain/ProviderError"
import type { TaskRequirements } from "@modelgate/domain/Requirements"
import { Deferred, Effect, Exit, Fiber, Layer, TestClock } from "effect"
import { computeCost } from "../src/CostTracker.js"
import { Gateway } from "../src/Gateway.js"
import { BudgetLimit, BudgetsConfig, CacheConfig, defaultConfig, FailoverConfig } from "../src/GatewayConfigSchema.js"
import type { ChatResult, Provider } from "../src/Provider.js"
import { ask, costRecords, costStack, globalDay, requirements, storyAnswer, untilSome } from "./CostStack.js"
import { model } from "./RoutingFixtures.js"

const pricing = { inputPerMillion: 1, outputPerMillion: 4 }
const usage: Usage = { prompt_tokens: 5_000, completion_tokens: 600, total_tokens: 5_600 }
const answerCost = computeCost(pricing, { promptTokens: 5_000, completionTokens: 600, cachedTokens: 0 })
/** How long the provider works on a call before it answers (or fails). */
const answerAfterMs = 10_000

/**
 * A provider that answers every call after `answerAfterMs`, but fails the
 * calls whose numbers (from 0) are in `failing` with a 500; `calls` counts
 * the calls it got, `started` completes when it got its first.
 */
const makeProvider = (failing: ReadonlyArray<number> = []) =>
  Effect.map(Deferred.make<void>(), (started) => {
    const counter = { calls: 0 }
    const provider: Provider = {
      id: "openai",
      requiresKey: false,
      chat: (ctx) =>
        Effect.suspend(() => {
          const n = counter.calls++
          const answer: Effect.Effect<ChatResult, ProviderError> = failing.includes(n)
            ? Effect.fail(new ServerError({ provider: "openai", model: ctx.model.id, status: 500, detail: "scripted" }))
            : Effect.succeed({ response: storyAnswer(ctx.model.providerModel, usage), rateLimit: undefined, providerRequestId: undefined })
          return Effect.zipRight(Deferred.succeed(started, undefined), Effect.zipRight(Effect.sleep(answerAfterMs), answer))
        }),
      stream: () => Effect.dieMessage("not streamed here"),
      probe: () => Effect.succeed({ ok: true, latencyMs: 0, error: undefined })
    }
    return { counter, started, provider }
  })

const models = [model("story", { pricing })]
const config = (cache: Partial<typeof CacheConfig.Type> = {}) => ({
  budgets: BudgetsConfig.make({ global: BudgetLimit.make({ daily: 100 }) }),
  cache: CacheConfig.make({ enabled: true, ...cache }),
  failover: FailoverConfig.make({ ...defaultConfig.failover, backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 60_000 })
})

/** A deterministic (cacheable) request. */
const story = ask("story", "tell me a story", { temperature: 0 })

/** Run `test` on a gateway whose provider fails the calls numbered in `failing`, the cache as `cache` says (on). */
const onGateway = <A, E>(
  test: (p: Effect.Effect.Success<ReturnType<typeof makeProvider>>) => Effect.Effect<A, E, Layer.Layer.Success<ReturnType<typeof costStack>>>,
  failing: ReadonlyArray<number> = [],
  cache: Partial<typeof CacheConfig.Type> = {}
) => Effect.flatMap(makeProvider(failing), (p) => Effect.provide(test(p), costStack(models, p.provider, config(cache))))

/** Fork `n` copies of `request` (each once the previous reached the gateway). */
const forkAll = (n: number, request: ChatRequest, asked: TaskRequirements = requirements) =>
  Effect.flatMap(Gateway, (gateway) =>
    Effect.forEach(Array.from({ length: n }), () => Effect.zipLeft(Effect.fork(Effect.either(gateway.complete(request, asked))), Effect.yieldNow())))

describe("identical cacheable requests in flight at once", () => {
  it.effect("five at once: one provider call, five answers, the others cache hits, one cost charged", () =>
    onGateway(({ counter }) =>
      Effect.gen(function* () {
        const fibers = yield* forkAll(5, story)
        yield* TestClock.adjust(answerAfterMs)
        const answers = yield* Effect.forEach(fibers, Fiber.join)
        assert.strictEqual(counter.calls, 1, "one provider call")
        const answered = answers.map((a) => {
          assert.isTrue(a._tag === "Right", "every request is answered")
          return a._tag === "Right" ? a.right : undefined!
        })
        assert.deepStrictEqual(answered.map((a) => a.meta.cacheHit), [false, true, true, true, true])
        assert.deepStrictEqual(answered.map((a) => a.meta.costUsd), [answered[0]!.meta.costUsd, 0, 0, 0, 0])
        assert.isTrue(answered.every((a) => a.response.choices[0]?.message.content === "Once upon a time."))
        assert.strictEqual(new Set(answered.map((a) => a.response.id)).size, 5, "each named after its own request")
        const records = yield* costRecords
        assert.deepStrictEqual(
          records.map((r) => [r.cacheHit, r.costPicoUsd]),
          [[false, answerCost], [true, 0], [true, 0], [true, 0], [true, 0]],
          "the answer charged once, the others recorded as cache hits"
        )
        assert.deepStrictEqual(yield* globalDay, [0n, BigInt(answerCost)], "spent once, nothing left held")
      })))

  it.effect("a follower whose client leaves stops waiting; the leader and the other followers carry on", () =>
    onGateway(({ counter, started }) =>
      Effect.gen(function* () {
        const [leader, leaving, staying] = yield* forkAll(3, story)
        yield* Deferred.await(started)
        assert.isTrue(Exit.isInterrupted(yield* Fiber.interrupt(leaving!)), "the follower returns at once")
        yield* TestClock.adjust(answerAfterMs)
        const first = yield* Fiber.join(leader!)
        const other = yield* Fiber.join(staying!)
        assert.isTrue(first._tag === "Right" && !first.right.meta.cacheHit)
        assert.isTrue(other._tag === "Right" && other.right.meta.cacheHit)
        assert.strictEqual(counter.calls, 1)
        assert.deepStrictEqual((yield* costRecords).map((r) => r.cacheHit), [false, true], "the follower that left recorded nothing")
      })))

  it.effect("a leader whose client leaves runs on: its followers get its answer, the provider called once", () =>
    onGateway(({ counter, started }) =>
      Effect.gen(function* () {
        const [leader, ...followers] = yield* forkAll(3, story)
        yield* Deferred.await(started)
        assert.isTrue(Exit.isInterrupted(yield* Fiber.interrupt(leader!)))
        yield* TestClock.adjust(answerAfterMs)
        const answers = yield* Effect.forEach(followers, Fiber.join)
        assert.deepStrictEqual(answers.map((a) => a._tag === "Right" && a.right.meta.cacheHit), [true, true])
        assert.strictEqual(counter.calls, 1)
        const records = yield* untilSome(costRecords)
        assert.deepStrictEqual(records.map((r) => [r.cacheHit, r.costPicoUsd]).sort(), [[false, answerCost], [true, 0], [true, 0]].sort())
      })))

  it.effect("a leader that fails hands its error to nobody: its followers go on alone, all at once", () =>
    onGateway(({ counter }) =>
      Effect.gen(function* () {
        const fibers = yield* forkAll(4, story)
        yield* TestClock.adjust(answerAfterMs)
        const [first, ...others] = fibers
        assert.strictEqual((yield* Fiber.join(first!))._tag, "Left", "the leader fails with its own error")
        // One more answer time, not one per follower: none waits for another.
        yield* TestClock.adjust(answerAfterMs)
        const rest = yield* Effect.forEach(others, Fiber.join)
        assert.strictEqual(counter.calls, 4, "each follower sent, as without merging")
        assert.deepStrictEqual(rest.map((a) => a._tag === "Right" ? a.right.meta.cacheHit : "failed"), [false, false, false])
        assert.deepStrictEqual((yield* costRecords).map((r) => [r.cacheHit, r.costPicoUsd]), [[false, answerCost], [false, answerCost], [false, answerCost]])
        assert.deepStrictEqual(yield* globalDay, [0n, BigInt(3 * answerCost)])
      }), [0]))

  it.effect("nothing is left in flight after any end: the next identical request after each is answered afresh", () =>
    onGateway(({ counter }) =>
      Effect.gen(function* () {
        const gateway = yield* Gateway
        // A leader that failed, then one interrupted before its call answered, with no follower.
        const failed = yield* Effect.fork(Effect.either(gateway.complete(story, requirements)))
        yield* TestClock.adjust(answerAfterMs)
        assert.strictEqual((yield* Fiber.join(failed))._tag, "Left")
        const left = yield* Effect.fork(gateway.complete(story, requirements))
        yield* Effect.yieldNow()
        yield* Fiber.interrupt(left)
        yield* TestClock.adjust(answerAfterMs)
        // The left call cached its answer when it ended: a hit, never a wait on a flight gone.
        const next = yield* gateway.complete(story, requirements)
        assert.isTrue(next.meta.cacheHit)
        assert.strictEqual(counter.calls, 2)
      }), [0]))

  it.effect("what the cache would not store is not merged", () =>
    onGateway(({ counter }) =>
      Effect.gen(function* () {
        const fibers = yield* forkAll(3, ask("story", "tell me a story", { temperature: 0.7 }))
        yield* TestClock.adjust(answerAfterMs)
        const answers = yield* Effect.forEach(fibers, Fiber.join)
        assert.strictEqual(counter.calls, 3)
        assert.isTrue(answers.every((a) => a._tag === "Right" && !a.right.meta.cacheHit))
      })))

  it.effect("requests of different teams (agent types) are not merged", () =>
    onGateway(({ counter }) =>
      Effect.gen(function* () {
        const a = yield* forkAll(2, story, { ...requirements, agentType: "team-a" })
        const b = yield* forkAll(2, story, { ...requirements, agentType: "team-b" })
        yield* TestClock.adjust(answerAfterMs)
        const answers = yield* Effect.forEach([...a, ...b], Fiber.join)
        assert.strictEqual(counter.calls, 2, "one per team")
        assert.deepStrictEqual(answers.map((x) => x._tag === "Right" && x.right.meta.cacheHit), [false, true, false, true])
      })))

  it.effect("nothing is merged while the cache is off", () =>
    onGateway(({ counter }) =>
      Effect.gen(function* () {
        const fibers = yield* forkAll(3, story)
        yield* TestClock.adjust(answerAfterMs)
        yield* Effect.forEach(fibers, Fiber.join)
        assert.strictEqual(counter.calls, 3)
      }), [], { enabled: false }))
})
