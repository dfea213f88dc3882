/**
 * Scenario: approaching a model's rate limit -> RateLimitWarning -> the model
 * is set aside for its fallback before the provider ever answers 429 ->
 * the window passes (TestClock) -> WindowReset -> requests go back to it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Effect, TestClock } from "effect"
import { ask, models, recordEvents, stack } from "./fixture.js"

const RPM = 10

const chatCalls = (requests: ReadonlyArray<{ readonly path: string }>) => requests.filter((r) => r.path.endsWith("/chat/completions")).length

describe("Scenario: rate limit events on the request path", () => {
  it.scoped("announces RateLimited when the model is set aside and WindowReset when it is back", () =>
    Effect.gen(function* () {
      const s = yield* stack({
        models: models({ rpm: RPM }),
        gateway: {
          cache: { enabled: false },
          failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0 }
        }
      })
      // the provider enforces the same limit the registry declares
      yield* s.openai.setRateLimit({ rpm: RPM })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const events = yield* recordEvents
        const send = (i: number) => gateway.complete(ask(`question number ${i}`, "gpt-4o-mini"), defaultRequirements)

        // up to the limit: every request on the requested model; a warning at 90%
        for (let i = 0; i < RPM; i++) {
          const answer = yield* send(i)
          assert.strictEqual(answer.meta.model, "gpt-4o-mini", `request ${i}`)
          const warnings = yield* events.ofTag("RateLimitWarning")
          assert.strictEqual(warnings.length, i + 1 >= 0.9 * RPM ? 1 : 0, `warnings after request ${i}`)
        }
        const warning = (yield* events.ofTag("RateLimitWarning"))[0]!
        assert.deepInclude(warning, { model: "gpt-4o-mini", dimension: "requests", used: 9, limit: RPM })

        // at the limit: the fallback answers, the provider is not called, no 429 came back
        for (let i = RPM; i < RPM + 3; i++) {
          const answer = yield* send(i)
          assert.strictEqual(answer.meta.model, "claude-haiku", `request ${i}`)
          assert.strictEqual(answer.meta.provider, "anthropic")
        }
        assert.strictEqual(chatCalls(yield* s.openai.requests), RPM)
        assert.strictEqual((yield* s.anthropic.requests).length, 3)
        assert.strictEqual(yield* s.openai.rateLimitedCount, 0)
        // the model is announced as rate limited (once), with when it has room again
        const limited = yield* events.ofTag("RateLimited")
        assert.strictEqual(limited.filter((e) => e.model === "gpt-4o-mini").length, 1)
        assert.isAbove(limited[0]!.retryAfterMs, 0)
        assert.isAtMost(limited[0]!.retryAfterMs, 61_000) // the window plus at most one 1 s bucket (SlidingWindow.ts)
        assert.strictEqual((yield* events.ofTag("WindowReset")).length, 0)

        // the minute passes: for the gateway (TestClock) and for the provider (its own window is wall time)
        yield* TestClock.adjust("61 seconds")
        yield* s.openai.reset
        yield* s.openai.setRateLimit({ rpm: RPM })

        const back = yield* send(100)
        assert.strictEqual(back.meta.model, "gpt-4o-mini")
        assert.strictEqual(back.meta.failovers, 0)
        const reset = yield* events.waitFor("WindowReset", (e) => e.model === "gpt-4o-mini")
        assert.strictEqual(reset.model, "gpt-4o-mini")
        assert.strictEqual(chatCalls(yield* s.openai.requests), 1)
        assert.strictEqual(yield* s.openai.rateLimitedCount, 0)
        assert.strictEqual((yield* s.anthropic.requests).length, 3)
      }).pipe(Effect.provide(s.layer))
    }), 20_000)
})
