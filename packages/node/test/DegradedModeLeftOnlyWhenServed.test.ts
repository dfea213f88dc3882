/**
 * Degraded mode is left at the next answer (README: "left at the next
 * answer"), not when a request merely finds a candidate that then fails.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { defaultRequirements, type TaskRequirements } from "@modelgate/domain/Requirements"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Events } from "@modelgate/core/Events"
import { ConfigReloaded } from "@modelgate/domain/Events"
import { Effect, Either } from "effect"
import { ask, models, recordEvents, stack } from "./fixture.js"

const only = (...allowedModels: Array<string>): TaskRequirements => ({ ...defaultRequirements, allowedModels })

describe("degraded mode is left only by an answer", () => {
  it.scopedLive("a request whose only candidate fails does not leave degraded mode", () =>
    Effect.gen(function* () {
      const s = yield* stack({
        models: models({ rpm: 1 }),
        gateway: {
          cache: { enabled: false },
          healthCheck: { enabled: false },
          failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0 }
        }
      })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const events = yield* recordEvents
        const degraded = Effect.map(events.all, (all) => all.filter((e) => e._tag.startsWith("DegradedMode")).map((e) => e._tag))
        yield* gateway.complete(ask("one"), only("gpt-4o-mini"))
        const refused = yield* Effect.either(gateway.complete(ask("two"), only("gpt-4o-mini")))
        assert.isTrue(Either.isLeft(refused))
        yield* events.waitFor("DegradedModeEntered")
        // claude-haiku is ranked, but its provider answers 500 to everything: nothing is served
        yield* s.anthropic.persist(Fault.status(500))
        const failed = yield* Effect.either(gateway.complete(ask("three", "claude-haiku"), only("claude-haiku")))
        assert.isTrue(Either.isLeft(failed), "the request failed")
        // Events arrive in order: once a marker published now has arrived, so has anything published before it.
        yield* (yield* Events).publish(ConfigReloaded.make({ at: 0, source: "marker" }))
        yield* events.waitFor("ConfigReloaded")
        assert.deepStrictEqual(yield* degraded, ["DegradedModeEntered"], "still degraded: no answer since")
        // the next answer leaves it, once
        yield* s.anthropic.persist(undefined)
        yield* gateway.complete(ask("four", "claude-haiku"), only("claude-haiku"))
        yield* gateway.complete(ask("five", "claude-haiku"), only("claude-haiku"))
        yield* events.waitFor("DegradedModeLeft")
        assert.deepStrictEqual(yield* degraded, ["DegradedModeEntered", "DegradedModeLeft"])
      }).pipe(Effect.provide(s.layer))
    }), 20_000)
})
