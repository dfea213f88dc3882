/**
 * A complete call whose client leaves while its adapter still waits for a
 * concurrency permit was never sent: once the permit frees, the call asks
 * `CallContext.stillWanted`, hears no, gives the permit back and fails
 * unsent (`Transport.notSent`). Nothing reaches the provider, nothing is
 * charged, health hears nothing and the model's figures stay clean (recorded
 * `NotSent`). A call already sent when its client leaves runs on as before,
 * but sends no retry: one waiting for its permit gives it back unsent, as the
 * provider would bill a retry nobody reads (the answered failure still counts
 * against the model's requests, `attempts`).
 */
import { assert, describe, it } from "@effect/vitest"
import type { ChatResponse, Usage } from "@modelgate/domain/Chat"
import { ServerError, Transport } from "@modelgate/domain/ProviderError"
import { Deferred, Effect, Exit, Fiber } from "effect"
import { BudgetLimit, BudgetsConfig } from "../src/GatewayConfigSchema.js"
import { Gateway } from "../src/Gateway.js"
import { HealthChecker } from "../src/HealthChecker.js"
import type { Provider } from "../src/Provider.js"
import { ask, costRecords, costStack, globalDay, performanceRecords, requirements, storyAnswer, untilSome } from "./CostStack.js"
import { model } from "./RoutingFixtures.js"

const usage: Usage = { prompt_tokens: 50, completion_tokens: 20, total_tokens: 70 }

const response = (id: string): ChatResponse => storyAnswer(id, usage)

/**
 * A provider whose calls wait for a permit (`permit`, opened by the test) as
 * `ProviderHttp` does when its provider is at its cap: `queued` completes when
 * a call waits, `sent` lists the calls sent. "capped" waits for the permit
 * first; "retrying" is sent at once, fails with a 503 its adapter retries
 * (`onRetry`), and its retry waits for the permit. After each wait the call
 * asks `stillWanted` and is not sent when told no (a retry's failure lists
 * the answered 503 in `attempts`, as the adapter's does).
 */
const makeProvider = Effect.gen(function* () {
  const queued = yield* Deferred.make<void>()
  const permit = yield* Effect.makeLatch(false)
  const sent: Array<string> = []
  const afterPermit = (ctx: Parameters<Provider["chat"]>[0]) =>
    Effect.zipRight(
      Effect.zipRight(Deferred.succeed(queued, undefined), permit.await),
      Effect.flatMap(Effect.suspend(() => ctx.stillWanted === undefined ? Effect.succeed(true) : ctx.stillWanted()), (wanted) =>
        wanted
          ? Effect.sync(() => {
            sent.push(ctx.model.id)
            return { response: response(ctx.model.id), rateLimit: undefined, providerRequestId: undefined }
          })
          : Effect.fail(
            new Transport({
              provider: "openai",
              model: ctx.model.id,
              detail: "not sent: scripted",
              unreachable: true,
              notSent: true,
              ...(ctx.model.id === "retrying" ? { attempts: [{ tag: "ServerError", status: 503, message: "scripted" }, { tag: "Transport", message: "not sent: scripted" }] } : {})
            })
          ))
    )
  const provider: Provider = {
    id: "openai",
    requiresKey: false,
    chat: (ctx) => {
      if (ctx.model.id === "capped") return afterPermit(ctx)
      const failed = new ServerError({ provider: "openai", model: ctx.model.id, status: 503, detail: "scripted" })
      return Effect.zipRight(
        Effect.zipRight(Effect.sync(() => sent.push(ctx.model.id)), ctx.onRetry === undefined ? Effect.void : ctx.onRetry(failed)),
        afterPermit(ctx)
      )
    },
    stream: () => Effect.dieMessage("not streamed here"),
    probe: () => Effect.succeed({ ok: true, latencyMs: 0, error: undefined })
  }
  return { permit, provider, queued, sent }
})

const models = [model("capped", { qualityScore: 0.9 }), model("retrying", { qualityScore: 0.5 })]
const config = { budgets: BudgetsConfig.make({ global: BudgetLimit.make({ daily: 100 }) }) }

/**
 * Ask `modelId`, leave once its call waits for the permit, then open the
 * permit; returns what was sent, and once the call was accounted its
 * performance records, health failures, budget and cost records.
 */
const leaveWhileQueued = (modelId: string) =>
  Effect.gen(function* () {
    const { permit, provider, queued, sent } = yield* makeProvider
    return yield* Effect.gen(function* () {
      const gateway = yield* Gateway
      const call = yield* Effect.fork(gateway.complete(ask(modelId), requirements))
      yield* Deferred.await(queued)
      assert.isTrue(Exit.isInterrupted(yield* Fiber.interrupt(call)), "the caller returns at once")
      yield* permit.open
      const records = yield* untilSome(performanceRecords)
      const failures = (yield* (yield* HealthChecker).status(modelId)).consecutiveFailures
      return { sent, records, failures, day: yield* globalDay, costs: yield* costRecords }
    }).pipe(Effect.provide(costStack(models, provider, config)))
  })

describe("a complete call whose client left", () => {
  it.effect("while it waited for a concurrency permit is not sent: no cost, no failure of its model", () =>
    Effect.gen(function* () {
      const { costs, day, failures, records, sent } = yield* leaveWhileQueued("capped")
      assert.deepStrictEqual(sent, [], "nothing reached the provider")
      assert.deepStrictEqual(records, [["capped", false, "NotSent"]], "out of the model's figures")
      assert.deepStrictEqual(costs, [])
      assert.deepStrictEqual(day, [0n, 0n], "the hold given back, nothing spent")
      assert.strictEqual(failures, 0, "health heard no failure")
    }))

  it.effect("once its call was sent sends no retry: the retry waiting for its permit is not sent, nothing charged", () =>
    Effect.gen(function* () {
      const { costs, day, records, sent } = yield* leaveWhileQueued("retrying")
      assert.deepStrictEqual(sent, ["retrying"], "its first request (the 503) only: the retry was not sent")
      assert.deepStrictEqual(records, [["retrying", false, "NotSent"]])
      assert.deepStrictEqual(costs, [])
      assert.deepStrictEqual(day, [0n, 0n], "the hold given back, nothing spent")
    }))

  it.effect("while waiting is sent as before when its client stays", () =>
    Effect.gen(function* () {
      const { permit, provider, queued, sent } = yield* makeProvider
      const answer = yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const call = yield* Effect.fork(gateway.complete(ask("capped"), requirements))
        yield* Deferred.await(queued)
        yield* permit.open
        return yield* Fiber.join(call)
      }).pipe(Effect.provide(costStack(models, provider, config)))
      assert.strictEqual(answer.meta.model, "capped")
      assert.deepStrictEqual(sent, ["capped"])
    }))
})
