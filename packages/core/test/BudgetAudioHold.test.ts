/**
 * A request with audio input on a model that prices audio above text
 * (Gemini Flash: $1.00 per 1M audio tokens, $0.30 text) is held against
 * budgets at the audio price for its audio parts: held at the text price,
 * concurrent requests right at the limit spent about three times the room
 * they were let into, though the provider billed exactly the tokens the
 * gateway estimated.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ChatRequest, Usage } from "@modelgate/domain/Chat"
import { Deferred, Effect, Either, Stream } from "effect"
import { CostTracker } from "../src/CostTracker.js"
import { Gateway } from "../src/Gateway.js"
import { BudgetLimit, BudgetsConfig } from "../src/GatewayConfigSchema.js"
import type { Provider } from "../src/Provider.js"
import { estimatePromptTokens, nonTextPartTokens } from "../src/TokenEstimator.js"
import { costStack, requirements } from "./CostStack.js"
import { model } from "./RoutingFixtures.js"

const flash = model("flash", {
  provider: "google",
  pricing: { inputPerMillion: 0.3, outputPerMillion: 2.5, audioInputPerMillion: 1.0 }
})

/** "transcribe" and one audio clip, at most 10 tokens out. */
const transcribe: ChatRequest = {
  model: "flash",
  max_tokens: 10,
  messages: [{
    role: "user",
    content: [{ type: "text", text: "transcribe" }, { type: "input_audio", input_audio: { data: "UklGRg==", format: "wav" } }]
  }]
} as ChatRequest

const budgets = BudgetsConfig.make({ global: BudgetLimit.make({ daily: 0.01 }) })

/** Gemini's usage for the request: the prompt the gateway estimated, its audio clip exactly the tokens estimated for it. */
const usage = (): Usage => {
  const prompt = estimatePromptTokens(transcribe, flash)
  return {
    prompt_tokens: prompt,
    completion_tokens: 10,
    total_tokens: prompt + 10,
    prompt_tokens_details: { audio_tokens: nonTextPartTokens }
  }
}

/** Answers every call once `open` is done, so all the requests are in flight together. */
const latched = (open: Deferred.Deferred<void>): Provider => ({
  id: "google",
  requiresKey: false,
  chat: (ctx) =>
    Effect.as(Deferred.await(open), {
      response: {
        id: "up",
        object: "chat.completion",
        created: 0,
        model: ctx.model.providerModel,
        choices: [{ index: 0, message: { role: "assistant", content: "hello" }, finish_reason: "stop" }],
        usage: usage()
      },
      rateLimit: undefined,
      providerRequestId: undefined
    }),
  stream: () => Stream.never as never,
  probe: () => Effect.succeed({ ok: true, latencyMs: 0, error: undefined })
})

describe("Budget holds of audio input", () => {
  it.effect("concurrent requests with audio at the limit: the budget is never spent past, the audio held at its price", () =>
    Effect.gen(function* () {
      const open = yield* Deferred.make<void>()
      const outcomes = yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const costs = yield* CostTracker
        const fibers = yield* Effect.forEach(
          Array.from({ length: 40 }, () => transcribe),
          (request) => Effect.fork(Effect.either(gateway.complete(request, requirements))),
          { concurrency: "unbounded" }
        )
        for (let i = 0; i < 100; i++) yield* Effect.yieldNow()
        yield* Deferred.succeed(open, undefined)
        const results = yield* Effect.forEach(fibers, (f) => f.await.pipe(Effect.flatten))
        const day = (yield* costs.budgetStatus).find((b) => b.budget === "global" && b.period === "daily")!
        return { answered: results.filter(Either.isRight).length, day }
      }).pipe(Effect.provide(costStack([flash], latched(open), { budgets })))
      assert.isAbove(outcomes.answered, 0, "requests that fit are answered")
      assert.isBelow(outcomes.answered, 40, "the budget refuses the rest")
      assert.strictEqual(outcomes.day.reservedPicoUsd, 0n, "every hold given back")
      assert.isTrue(
        outcomes.day.spentPicoUsd <= outcomes.day.limitPicoUsd,
        `spent ${outcomes.day.spentPicoUsd} of a ${outcomes.day.limitPicoUsd} budget`
      )
    }))

  it.effect("a request whose audio at its price costs more than the whole budget is refused before any call", () =>
    Effect.gen(function* () {
      const open = yield* Deferred.make<void>()
      yield* Deferred.succeed(open, undefined)
      const tight = BudgetsConfig.make({ global: BudgetLimit.make({ daily: 0.0008 }) })
      const outcome = yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const costs = yield* CostTracker
        const result = yield* Effect.either(gateway.complete(transcribe, requirements))
        const day = (yield* costs.budgetStatus).find((b) => b.budget === "global" && b.period === "daily")!
        return { result, spent: day.spentPicoUsd }
      }).pipe(Effect.provide(costStack([flash], latched(open), { budgets: tight })))
      assert.isTrue(Either.isLeft(outcome.result) && outcome.result.left._tag === "BudgetExceeded", "refused with BudgetExceeded")
      assert.strictEqual(outcome.spent, 0n, "nothing spent")
    }))
})
