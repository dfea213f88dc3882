/**
 * Scenario: `DegradedModeEntered` goes to every team's `/v1/events`, so its
 * `reason` names only what degrades the gateway (models down or rate
 * limited), never the request's own exclusions: here a team's agent-type
 * budget that has no room for the pricier model must not reach other teams.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Effect, Either, TestClock } from "effect"
import { ask, models, noonUtc, recordEvents, stack } from "./fixture.js"

const RPM = 2

describe("Scenario: degraded mode reason", () => {
  it.scoped("names the rate-limited model, not another team's budget", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(noonUtc)
      const s = yield* stack({
        models: models({ rpm: RPM }),
        gateway: {
          cache: { enabled: false },
          // claude-haiku's worst case (8000 output tokens at $5/M = $0.04) does not fit; gpt-4o-mini's ($0.0048) does
          budgets: { perAgentType: { "team-secret": { daily: 0.01 } } },
          failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0 }
        }
      })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const events = yield* recordEvents
        // gpt-4o-mini's minute is used up by requests of no team
        for (let i = 0; i < RPM; i++) yield* gateway.complete(ask(`question ${i}`), defaultRequirements)
        const refused = yield* Effect.either(
          gateway.complete(ask("team question", "auto", { max_tokens: 8000 }), { ...defaultRequirements, agentType: "team-secret" })
        )
        assert.isTrue(Either.isLeft(refused) && refused.left._tag === "NoEligibleModel")
        const entered = yield* events.waitFor("DegradedModeEntered")
        assert.include(entered.reason, "gpt-4o-mini")
        assert.notInclude(entered.reason, "team-secret")
        assert.notInclude(entered.reason, "budget")
      }).pipe(Effect.provide(s.layer))
    }), 20_000)
})
