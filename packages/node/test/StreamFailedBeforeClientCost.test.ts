/**
 * An Anthropic stream that fails after `message_start` (which reports the
 * request's input: PROVIDERS.md §2 Streaming) but before any of its answer
 * reached the client: Anthropic bills that input. The gateway, which fails
 * over (or fails the request) there as before the first byte, should charge
 * it all the same, once, and hold nothing after.
 *
 * The fakes answer over real sockets (live clock).
 */
import { assert, describe, it } from "@effect/vitest"
import { computeCost, CostTracker } from "@modelgate/core/CostTracker"
import { Gateway } from "@modelgate/core/Gateway"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { errorEvent } from "@modelgate/testkit/FakeAnthropic"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect, Either } from "effect"
import { ask, costRows, models, stack } from "./fixture.js"

const question = "tell me about the sea"

describe("Cost of a stream that fails before its client got any of it", () => {
  it.scopedLive("an Anthropic stream that fails after message_start, before its answer, is charged the input message_start reported", () =>
    Effect.gen(function* () {
      const registry = models()
      const s = yield* stack({ models: registry, gateway: { cache: { enabled: false }, budgets: { global: { daily: 10 } } } })
      const { reported, reserved } = yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const costs = yield* CostTracker
        // message_start, ping, then overloaded_error: none of the answer yet (claude-haiku has no fallback: the request fails).
        yield* s.anthropic.script(Fault.inject(2, errorEvent("overloaded_error", "Overloaded")))
        const failed = yield* Effect.either(gateway.stream(ask(question, "claude-haiku", { stream: true }), defaultRequirements))
        assert.isTrue(Either.isLeft(failed), "the stream failed before its first text")
        const reserved = (yield* costs.budgetStatus).find((b) => b.budget === "global" && b.period === "daily")!.reservedPicoUsd
        // The same request answered whole: the input message_start reported for the failed one.
        const whole = yield* gateway.complete(ask(question, "claude-haiku"), defaultRequirements)
        return { reported: whole.response.usage, reserved }
      }).pipe(Effect.provide(s.layer))
      assert.strictEqual(reserved, 0n, "nothing left held")
      // The layer is closed: the record writer flushed on the way out.
      const [failed, whole] = costRows(s.db)
      assert.isDefined(whole, "the failed stream was charged nothing")
      assert.strictEqual(failed!.model, "claude-haiku")
      assert.strictEqual(failed!.prompt_tokens, reported.prompt_tokens, "the input Anthropic counted")
      const pricing = registry.models[1]!.pricing
      const billed = computeCost(pricing, { promptTokens: reported.prompt_tokens, completionTokens: failed!.completion_tokens, cachedTokens: 0 })
      assert.strictEqual(failed!.cost_pico, billed)
      assert.isAtMost(failed!.completion_tokens, 1, "no answer was generated")
    }))
})
