/**
 * Scenario: the gateway's degraded mode. It is entered (logged and published
 * once) when requests find every model that would serve them rate limited or
 * down, and left with the first request served again. A request whose own
 * asks rule every model out (here `n: 2` among Anthropic models only) is
 * refused without putting the gateway in degraded mode.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { defaultRequirements, type TaskRequirements } from "@modelgate/domain/Requirements"
import { Effect, Either, TestClock } from "effect"
import { ask, models, recordEvents, stack } from "./fixture.js"

const RPM = 2
const only = (...allowedModels: Array<string>): TaskRequirements => ({ ...defaultRequirements, allowedModels })

describe("Scenario: degraded mode", () => {
  it.scoped("entered once when nothing that would serve has room, left when a request is served again; a request nothing could ever serve does not enter it", () =>
    Effect.gen(function* () {
      const s = yield* stack({
        models: models({ rpm: RPM }),
        gateway: { cache: { enabled: false }, failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0 } }
      })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const events = yield* recordEvents
        const degraded = Effect.map(events.all, (all) => all.filter((e) => e._tag === "DegradedModeEntered" || e._tag === "DegradedModeLeft").map((e) => e._tag))

        // nothing could ever serve this one: refused, the gateway is not degraded
        const never = yield* Effect.either(gateway.complete(ask("two please", "auto", { n: 2 }), only("claude-haiku")))
        assert.isTrue(Either.isLeft(never) && never.left._tag === "NoEligibleModel")
        assert.deepStrictEqual(yield* degraded, [])

        // gpt-4o-mini's minute is used up: the next requests limited to it find nothing with room
        for (let i = 0; i < RPM; i++) yield* gateway.complete(ask(`question ${i}`), only("gpt-4o-mini"))
        for (let i = 0; i < 2; i++) {
          const refused = yield* Effect.either(gateway.complete(ask(`one too many ${i}`), only("gpt-4o-mini")))
          assert.isTrue(Either.isLeft(refused) && refused.left._tag === "NoEligibleModel", `refused ${i}`)
        }
        const entered = yield* events.waitFor("DegradedModeEntered")
        assert.deepStrictEqual(yield* degraded, ["DegradedModeEntered"], "entered once, not per refused request")
        assert.strictEqual(entered.component, "routing")
        assert.include(entered.reason, "gpt-4o-mini")
        assert.notInclude(entered.reason, "n=2", "entered by the rate limit, not by the request nothing could serve")
        assert.notInclude(entered.reason, "n=2", "entered by the rate limit, not by the request nothing could serve")

        // the window passes: the next request is served and the gateway leaves degraded mode
        yield* TestClock.adjust("61 seconds")
        const served = yield* gateway.complete(ask("back again"), only("gpt-4o-mini"))
        assert.strictEqual(served.meta.model, "gpt-4o-mini")
        yield* events.waitFor("DegradedModeLeft")
        assert.deepStrictEqual(yield* degraded, ["DegradedModeEntered", "DegradedModeLeft"])
      }).pipe(Effect.provide(s.layer))
    }), 20_000)
})
