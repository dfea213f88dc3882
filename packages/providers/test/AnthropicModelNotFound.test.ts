/**
 * A 404 `not_found_error` for the model (the registry's `providerModel` is
 * not one the account has: retired, misspelt) is the operator's setup, not
 * the client's request: the gateway chose the model. It is an unreachable
 * `Transport`, as for OpenAI's `model_not_found` and an Ollama model never
 * pulled: the request fails over at once, the call is not retried, and the
 * model's health counts it. It was a BadRequest: a 400 to the client and no
 * fallback tried.
 */
import { assert, describe, it } from "@effect/vitest"
import * as FakeAnthropic from "@modelgate/testkit/FakeAnthropic"
import { Effect } from "effect"
import * as Anthropic from "../src/Anthropic.js"
import { adapterOver, ctxOf, keyOf, live, modelOf } from "./internal/fixtures.js"

describe("Anthropic: a model the account does not have", () => {
  it.scoped("is an unreachable Transport, sent once, complete and streamed", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* adapterOver(FakeAnthropic.make, Anthropic.make)({ maxRetries: 2 }, { models: ["claude-haiku-4-5"] })
      const ctx = ctxOf(modelOf("anthropic", "claude-retired"), keyOf("anthropic", FakeAnthropic.defaultApiKey))
      const whole = yield* Effect.flip(provider.chat(ctx))
      const streamed = yield* Effect.flip(provider.stream(ctx))
      for (const error of [whole, streamed]) {
        assert.strictEqual(error._tag, "Transport", error.message)
        assert.isTrue(error._tag === "Transport" && error.unreachable === true)
        assert.strictEqual(error.status, 404)
      }
      assert.lengthOf(yield* fake.requests, 2, "each call sent once, not retried")
    })))
})
