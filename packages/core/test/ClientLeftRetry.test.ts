/**
 * A complete call whose client left while its adapter waited to retry a
 * failure (a 503, a 429's retry-after): the call was left to run on because
 * the provider bills what it already has, but the retry is a new request it
 * would bill, and nobody would read its answer. The adapter asks
 * `CallContext.abandoned` before it retries and is told yes: the call ends
 * with the failure it waited out. Nothing is charged, the answered 503
 * counts against the model's rpm (the provider counted it), and health hears
 * the model fail. A call whose client stays is retried as before.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ChatResponse, Usage } from "@modelgate/domain/Chat"
import { ServerError } from "@modelgate/domain/ProviderError"
import { Deferred, Effect, Exit, Fiber, TestClock } from "effect"
import { BudgetLimit, BudgetsConfig } from "../src/GatewayConfigSchema.js"
import { Gateway } from "../src/Gateway.js"
import { HealthChecker } from "../src/HealthChecker.js"
import { ModelRegistry } from "../src/ModelRegistry.js"
import type { Provider } from "../src/Provider.js"
import { RateLimiter } from "../src/RateLimiter.js"
import { ask, costRecords, costStack, globalDay, performanceRecords, requirements, storyAnswer, untilSome } from "./CostStack.js"
import { model } from "./RoutingFixtures.js"

const usage: Usage = { prompt_tokens: 50, completion_tokens: 20, total_tokens: 70 }
/** The adapter's wait before its retry. */
const retryAfterMs = 2_000

const response = (id: string): ChatResponse => storyAnswer(id, usage)

/**
 * A provider whose first request of a call answers 503 and whose retry (after
 * `retryAfterMs`) answers, as an adapter's retry loop does: it tells
 * `onRetry`, waits, then asks `abandoned` and fails with the 503 (its attempt
 * listed) when told yes. `sent` lists the requests sent; `waiting` completes
 * when a call waits to retry.
 */
const makeProvider = Effect.map(Deferred.make<void>(), (waiting) => {
  const sent: Array<string> = []
  const provider: Provider = {
    id: "openai",
    requiresKey: false,
    chat: (ctx) => {
      const failed = new ServerError({ provider: "openai", model: ctx.model.id, status: 503, detail: "scripted" })
      return Effect.gen(function* () {
        sent.push(ctx.model.id)
        if (ctx.onRetry !== undefined) yield* ctx.onRetry(failed)
        yield* Deferred.succeed(waiting, undefined)
        yield* Effect.sleep(retryAfterMs)
        if (ctx.abandoned?.() === true) {
          return yield* Effect.fail(new ServerError({ ...failed, attempts: [{ tag: "ServerError", status: 503, message: failed.message }] }))
        }
        sent.push(ctx.model.id)
        return { response: response(ctx.model.id), rateLimit: undefined, providerRequestId: undefined, retried: 1 }
      })
    },
    stream: () => Effect.dieMessage("not streamed here"),
    probe: () => Effect.succeed({ ok: true, latencyMs: 0, error: undefined })
  }
  return { provider, sent, waiting }
})

const models = [model("flaky", { qualityScore: 0.9, rateLimits: { rpm: 10, tpm: 1_000_000 } })]
const config = { budgets: BudgetsConfig.make({ global: BudgetLimit.make({ daily: 100 }) }) }

/** The requests "flaky" has counted in its current window. */
const requestsUsed = Effect.gen(function* () {
  const flaky = yield* (yield* ModelRegistry).get("flaky")
  return (yield* (yield* RateLimiter).headroom(flaky, 1)).requestsUsed
})

describe("a complete call whose client left while its adapter waited to retry", () => {
  it.effect("sends no retry: nothing charged, the answered 503 counted, the model's failure", () =>
    Effect.gen(function* () {
      const { provider, sent, waiting } = yield* makeProvider
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const call = yield* Effect.fork(gateway.complete(ask("flaky"), requirements))
        yield* Deferred.await(waiting)
        assert.isTrue(Exit.isInterrupted(yield* Fiber.interrupt(call)), "the caller returns at once")
        yield* TestClock.adjust(retryAfterMs)
        const records = yield* untilSome(performanceRecords)
        assert.deepStrictEqual(sent, ["flaky"], "the retry was not sent")
        assert.deepStrictEqual(records, [["flaky", false, "ServerError"]])
        assert.deepStrictEqual(yield* costRecords, [])
        assert.deepStrictEqual(yield* globalDay, [0n, 0n], "the hold given back, nothing spent")
        assert.strictEqual(yield* requestsUsed, 1, "the request the provider answered counts against its rpm")
        assert.strictEqual((yield* (yield* HealthChecker).status("flaky")).consecutiveFailures, 1, "health heard the model fail")
      }).pipe(Effect.provide(costStack(models, provider, config)))
    }))

  it.effect("a call whose client stays is retried and answered", () =>
    Effect.gen(function* () {
      const { provider, sent, waiting } = yield* makeProvider
      const answer = yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const call = yield* Effect.fork(gateway.complete(ask("flaky"), requirements))
        yield* Deferred.await(waiting)
        yield* TestClock.adjust(retryAfterMs)
        return yield* Fiber.join(call)
      }).pipe(Effect.provide(costStack(models, provider, config)))
      assert.strictEqual(answer.meta.model, "flaky")
      assert.deepStrictEqual(sent, ["flaky", "flaky"])
    }))
})
