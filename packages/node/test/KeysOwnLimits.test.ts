/**
 * Several keys of one provider, each its own organization with its own
 * limits (the model's `rateLimits` are one key's, as the provider's headers
 * report them per key): round robin over three keys serves three keys'
 * worth of requests a minute, not one key's.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Effect, TestClock } from "effect"
import { ask, models, noonUtc, stack } from "./fixture.js"
import { chatKeys } from "./TwoKeysFixture.js"

const keys = ["sk-test-openai", "sk-test-openai-second", "sk-test-openai-third"]

describe("Keys with limits of their own", () => {
  it.scoped("three keys at 2 rpm each serve six requests of a minute on the model, two per key, and no seventh", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(noonUtc)
      const s = yield* stack({
        models: models({ rpm: 2 }),
        openAiApiKeys: keys,
        gateway: { cache: { enabled: false }, failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0 } }
      })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const served: Array<string> = []
        for (let i = 0; i < 6; i++) served.push((yield* gateway.complete(ask(`request ${i}`), defaultRequirements)).meta.model)
        assert.deepStrictEqual(served, Array(6).fill("gpt-4o-mini"))
        const sent = chatKeys(yield* s.openai.requests)
        assert.deepStrictEqual(keys.map((k) => sent.filter((x) => x === k).length), [2, 2, 2])
        // each key's own 2 rpm still holds: a seventh request of the minute goes to the fallback
        assert.strictEqual((yield* gateway.complete(ask("request 6"), defaultRequirements)).meta.model, "claude-haiku")
        assert.lengthOf(chatKeys(yield* s.openai.requests), 6)
      }).pipe(Effect.provide(s.layer))
    }), 60_000)
})
