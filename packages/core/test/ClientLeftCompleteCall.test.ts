/**
 * A complete (non-streamed) call its client leaves while the provider works
 * on it: the provider got the request and generates, and bills, the whole
 * answer. The call runs on to its end and is accounted as usual: its usage
 * settled, its cost committed to the budget and recorded, its performance
 * recorded as the client's doing (`Interrupted`), its answer cached (the
 * client's retry is a hit, not a second bill). A call that fails after its
 * client left is a failure of its model, with no failover (nobody waits),
 * unless its adapter did not send it (`Transport.notSent`); a
 * request that leaves before its call started (waiting in the queue) sends
 * nothing; the gateway's shutdown interrupts the calls left running and
 * accounts them as interrupted. The caller returns at once in every case.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ChatRequest, ChatResponse, Usage } from "@modelgate/domain/Chat"
import { type ProviderError, ServerError, Transport } from "@modelgate/domain/ProviderError"
import type { PerformanceRecord } from "@modelgate/domain/Records"
import { Deferred, Effect, Exit, Fiber, Layer, Scope, TestClock } from "effect"
import { computeCost } from "../src/CostTracker.js"
import { Gateway } from "../src/Gateway.js"
import { HealthChecker } from "../src/HealthChecker.js"
import { BudgetLimit, BudgetsConfig, CacheConfig, defaultConfig, FailoverConfig } from "../src/GatewayConfigSchema.js"
import type { ChatResult, Provider } from "../src/Provider.js"
import * as RecordSink from "../src/RecordSink.js"
import { ask, costRecords, costStack, globalDay, performanceRecords, requirements, untilSome } from "./CostStack.js"
import { model } from "./RoutingFixtures.js"

const pricing = { inputPerMillion: 1, outputPerMillion: 4 }
const usage: Usage = { prompt_tokens: 5_000, completion_tokens: 600, total_tokens: 5_600 }
const answerCost = computeCost(pricing, { promptTokens: 5_000, completionTokens: 600, cachedTokens: 0 })
/** How long the provider works on a call before it answers (or fails). */
const answerAfterMs = 10_000

const response = (modelId: string): ChatResponse => ({
  id: "up",
  object: "chat.completion",
  created: 0,
  model: modelId,
  choices: [{ index: 0, message: { role: "assistant", content: "Once upon a time." }, finish_reason: "stop" }],
  usage
})

/**
 * A provider that answers "slow" (and "fallback" at once) after `answerAfterMs`
 * and fails "failing" with a 500 after as long; `calls` lists the calls it got,
 * `started` completes when it got its first.
 */
const makeProvider = Effect.map(Deferred.make<void>(), (started) => {
  const calls: Array<string> = []
  const provider: Provider = {
    id: "openai",
    requiresKey: false,
    chat: (ctx) =>
      Effect.suspend(() => {
        calls.push(ctx.model.id)
        const answer: Effect.Effect<ChatResult, ProviderError> = ctx.model.id === "failing"
          ? Effect.fail(new ServerError({ provider: "openai", model: "failing", status: 500, detail: "scripted" }))
          : ctx.model.id === "queued"
          // Its wait for a concurrency permit ends after the model was taken out: not sent (as `ProviderHttp` answers).
          ? Effect.fail(new Transport({ provider: "openai", model: "queued", detail: "not sent: scripted", unreachable: true, notSent: true }))
          : Effect.succeed({ response: response(ctx.model.providerModel), rateLimit: undefined, providerRequestId: undefined })
        return Effect.zipRight(
          Deferred.succeed(started, undefined),
          ctx.model.id === "fallback" ? answer : Effect.zipRight(Effect.sleep(answerAfterMs), answer)
        )
      }),
    stream: () => Effect.dieMessage("not streamed here"),
    probe: () => Effect.succeed({ ok: true, latencyMs: 0, error: undefined })
  }
  return { calls, started, provider }
})

const models = [
  model("slow", { pricing, qualityScore: 0.9, rateLimits: { rpm: 1, tpm: 1_000_000 } }),
  model("failing", { pricing, qualityScore: 0.8, fallbacks: ["fallback"] }),
  model("fallback", { pricing, qualityScore: 0.5 }),
  model("queued", { pricing, qualityScore: 0.4 })
]
const budgets = BudgetsConfig.make({ global: BudgetLimit.make({ daily: 100 }) })
const config = {
  budgets,
  cache: CacheConfig.make({ enabled: true }),
  failover: FailoverConfig.make({ ...defaultConfig.failover, backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 60_000 })
}

/** A deterministic (cacheable) request to `model`. */
const story = (modelId: string) => ask(modelId, "tell me a story", { temperature: 0 })

/** Run `test` on the gateway over the provider of `makeProvider`. */
const onGateway = <A, E>(test: (p: Effect.Effect.Success<typeof makeProvider>) => Effect.Effect<A, E, Layer.Layer.Success<ReturnType<typeof costStack>>>) =>
  Effect.flatMap(makeProvider, (p) => Effect.provide(test(p), costStack(models, p.provider, config)))

/** Ask `request` and leave once the provider has it: the caller returns at once (the clock stands still). */
const leaveMidCall = (started: Deferred.Deferred<void>, request: ChatRequest) =>
  Effect.gen(function* () {
    const gateway = yield* Gateway
    const call = yield* Effect.fork(gateway.complete(request, requirements))
    yield* Deferred.await(started)
    assert.isTrue(Exit.isInterrupted(yield* Fiber.interrupt(call)), "the caller returns at once")
  })

describe("a complete call its client left while the provider worked on it", () => {
  it.effect("runs on: charged to the budget, recorded with the provider's usage as the client's doing, and cached", () =>
    onGateway(({ calls, started }) =>
      Effect.gen(function* () {
        const gateway = yield* Gateway
        yield* leaveMidCall(started, story("slow"))
        const [held] = yield* globalDay
        assert.isAbove(Number(held), 0, "the hold stays while the provider works on the call")
        assert.deepStrictEqual(yield* costRecords, [])

        yield* TestClock.adjust(answerAfterMs)
        const records = yield* untilSome(costRecords)
        assert.deepStrictEqual(
          records.map((r) => [r.model, r.promptTokens, r.completionTokens, r.costPicoUsd]),
          [["slow", 5_000, 600, answerCost]],
          "the provider's real usage, at its price"
        )
        assert.deepStrictEqual(yield* globalDay, [0n, BigInt(answerCost)], "spent, no longer held")
        assert.deepStrictEqual(yield* performanceRecords, [["slow", false, "Interrupted"]], "the client's doing")
        const health = yield* (yield* HealthChecker).status("slow")
        assert.strictEqual(health.lastLatencyMs, answerAfterMs, "health heard the model answer, and how fast")

        const again = yield* gateway.complete(story("slow"), requirements)
        assert.isTrue(again.meta.cacheHit, "the client's retry gets the answer it paid for")
        assert.strictEqual(again.response.choices[0]?.message.content, "Once upon a time.")
        assert.deepStrictEqual(calls, ["slow"], "the provider was called once")
      })))

  it.effect("a call that fails after its client left is its model's failure, and does not fail over", () =>
    onGateway(({ calls, started }) =>
      Effect.gen(function* () {
        yield* leaveMidCall(started, story("failing"))
        yield* TestClock.adjust(answerAfterMs)
        const records = yield* untilSome(performanceRecords)
        assert.deepStrictEqual(records, [["failing", false, "ServerError"]])
        assert.deepStrictEqual(calls, ["failing"], "no failover: nobody waits for an answer")
        assert.strictEqual((yield* (yield* HealthChecker).status("failing")).consecutiveFailures, 1, "health heard the model fail")
        assert.deepStrictEqual(yield* costRecords, [])
        assert.deepStrictEqual(yield* globalDay, [0n, 0n], "the hold given back, nothing spent")
      })))

  it.effect("a call its adapter did not send after its client left (its model taken out meanwhile) is no failure of its model", () =>
    onGateway(({ started }) =>
      Effect.gen(function* () {
        yield* leaveMidCall(started, story("queued"))
        yield* TestClock.adjust(answerAfterMs)
        const records = yield* untilSome(performanceRecords)
        assert.deepStrictEqual(records, [["queued", false, "NotSent"]], "out of the model's figures")
        assert.strictEqual((yield* (yield* HealthChecker).status("queued")).consecutiveFailures, 0, "health heard no failure")
        assert.deepStrictEqual(yield* globalDay, [0n, 0n], "the hold given back, nothing spent")
      })))

  it.effect("a request that leaves while it waits in the queue sends nothing", () =>
    onGateway(({ calls, started }) =>
      Effect.gen(function* () {
        const gateway = yield* Gateway
        // "slow" allows one request a minute: the first takes it, the second waits in the queue.
        const first = yield* Effect.fork(gateway.complete(ask("slow", "first"), requirements))
        yield* Deferred.await(started)
        const waiting = yield* Effect.fork(gateway.complete(ask("slow", "second"), requirements))
        yield* TestClock.adjust(1_000)
        assert.isTrue(Exit.isInterrupted(yield* Fiber.interrupt(waiting)))
        yield* TestClock.adjust(120_000)
        yield* Fiber.join(first)
        assert.deepStrictEqual(calls, ["slow"], "the waiting request never reached the provider")
        assert.deepStrictEqual(yield* performanceRecords, [["slow", true, undefined]])
      })))

  it.effect("the gateway's shutdown interrupts the calls left running and accounts them as interrupted", () =>
    Effect.gen(function* () {
      const { calls, provider, started } = yield* makeProvider
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(costStack(models, provider, config), scope)
      const records = yield* Effect.zipRight(leaveMidCall(started, story("slow")), RecordSink.MemoryRecords).pipe(Effect.provide(context))
      // Closed while the provider still works on the call (the clock stands still).
      yield* Scope.close(scope, Exit.void)
      const all = yield* records.all
      assert.deepStrictEqual(
        all.filter((r) => r._tag === "PerformanceRecord").map((r) => [(r as PerformanceRecord).model, (r as PerformanceRecord).errorClass]),
        [["slow", "Interrupted"]],
        "accounted when the gateway closed, not lost"
      )
      assert.isFalse(all.some((r) => r._tag === "CostRecord"), "nothing answered, nothing charged")
      assert.deepStrictEqual(calls, ["slow"])
    }))
})
