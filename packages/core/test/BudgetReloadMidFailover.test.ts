/**
 * A budget lowered by a reload while a request is in flight holds for that
 * request's next attempt: a request whose first model failed after the
 * reload fails over under the budget in force, not the one it began with
 * (it spent past the lowered budget on its fallback before).
 */
import { assert, describe, it } from "@effect/vitest"
import type { ChatResponse } from "@modelgate/domain/Chat"
import { ServerError } from "@modelgate/domain/ProviderError"
import { Deferred, Effect, Either, Stream } from "effect"
import { CostTracker } from "../src/CostTracker.js"
import * as Gw from "../src/Gateway.js"
import { BudgetLimit, BudgetsConfig, defaultConfig } from "../src/GatewayConfigSchema.js"
import type { Provider } from "../src/Provider.js"
import { ask, costConfig, costStackReloadable, requirements } from "./CostStack.js"
import { ConfigFiles } from "./ReloadableConfig.js"
import { model } from "./RoutingFixtures.js"

const pricing = { inputPerMillion: 1, outputPerMillion: 4 }
const models = [
  model("first", { provider: "google", pricing, fallbacks: ["second"] }),
  model("second", { provider: "google", pricing })
]

/** The configuration with a global daily budget of `usd`. */
const withDaily = (usd: number) =>
  costConfig({ budgets: BudgetsConfig.make({ ...defaultConfig.budgets, global: BudgetLimit.make({ daily: usd }) }) })

const answer = (id: string): ChatResponse => ({
  id: "up",
  object: "chat.completion",
  created: 0,
  model: id,
  choices: [{ index: 0, message: { role: "assistant", content: "hello" }, finish_reason: "stop" }],
  usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 }
})

/** "first" fails once `failNow` is done (a 500), "second" answers. */
const provider = (failNow: Deferred.Deferred<void>, called: Array<string>): Provider => ({
  id: "google",
  requiresKey: false,
  chat: (ctx) => {
    called.push(ctx.model.id)
    return ctx.model.id === "first"
      ? Effect.zipRight(
        Deferred.await(failNow),
        Effect.fail(new ServerError({ provider: "google", model: "first", status: 500, detail: "scripted" }))
      )
      : Effect.succeed({ response: answer(ctx.model.providerModel), rateLimit: undefined, providerRequestId: undefined })
  },
  stream: () => Stream.never as never,
  probe: () => Effect.succeed({ ok: true, latencyMs: 0, error: undefined })
})

describe("A budget lowered while a request is in flight", () => {
  it.effect("holds for the request's next attempt: its failover is refused by the lowered budget", () =>
    Effect.gen(function* () {
      const failNow = yield* Deferred.make<void>()
      const called: Array<string> = []
      const outcome = yield* Effect.gen(function* () {
        const gateway = yield* Gw.Gateway
        const costs = yield* CostTracker
        const files = yield* ConfigFiles
        const fiber = yield* Effect.fork(Effect.either(gateway.complete(ask("first", "hello"), requirements)))
        for (let i = 0; i < 50 && called.length === 0; i++) yield* Effect.yieldNow()
        // The operator all but stops spend (a millionth of a dollar a day) while the first call is under way; then it fails.
        yield* files.apply(withDaily(0.000001))
        yield* Deferred.succeed(failNow, undefined)
        const result = yield* Effect.flatten(fiber.await)
        const day = (yield* costs.budgetStatus).find((b) => b.budget === "global" && b.period === "daily")!
        return { result, spent: day.spentPicoUsd, reserved: day.reservedPicoUsd }
      }).pipe(Effect.provide(costStackReloadable(models, provider(failNow, called), withDaily(100))))
      assert.deepStrictEqual(called, ["first"], "the fallback is not called under the lowered budget")
      assert.isTrue(Either.isLeft(outcome.result), "the request fails")
      assert.strictEqual(outcome.spent, 0n, "nothing spent past the budget")
      assert.strictEqual(outcome.reserved, 0n, "no hold left")
    }))
})
