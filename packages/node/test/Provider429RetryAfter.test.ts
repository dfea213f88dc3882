/**
 * A provider's 429 carries a retry hint (`retry-after`, or Gemini's
 * RetryInfo) but no `remaining: 0` rate-limit header. The gateway should stop
 * sending to that model until the hint has passed (serving the fallback
 * meanwhile), and come back after it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect, TestClock } from "effect"
import { ask, noonUtc, stack } from "./fixture.js"

const chatCalls = (requests: ReadonlyArray<{ readonly path: string }>) => requests.filter((r) => r.path.endsWith("/chat/completions")).length

const rateLimitBody = { error: { message: "Rate limit reached for requests", type: "requests", code: "rate_limit_exceeded", param: null } }

describe("Provider 429 with a retry hint only", () => {
  it.scoped("after a 429 with retry-after: 30, the model is not called again before 30 s", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(noonUtc)
      const s = yield* stack({ gateway: { cache: { enabled: false }, failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0 } } })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        yield* s.openai.script(Fault.status(429, { body: rateLimitBody, headers: { "retry-after": "30" } }))
        const first = yield* gateway.complete(ask("one"), defaultRequirements)
        assert.strictEqual(first.meta.model, "claude-haiku")
        assert.strictEqual(first.meta.failovers, 1)
        assert.strictEqual(chatCalls(yield* s.openai.requests), 1)

        // within the provider's 30 s: the gateway should not send to it again
        yield* TestClock.adjust("5 seconds")
        const second = yield* gateway.complete(ask("two"), defaultRequirements)
        assert.strictEqual(chatCalls(yield* s.openai.requests), 1, "gpt-4o-mini was called again within its retry-after")
        assert.strictEqual(second.meta.model, "claude-haiku")

        // after it: back on the model
        yield* TestClock.adjust("30 seconds")
        const third = yield* gateway.complete(ask("three"), defaultRequirements)
        assert.strictEqual(third.meta.model, "gpt-4o-mini")
      }).pipe(Effect.provide(s.layer))
    }), 20_000)
})
