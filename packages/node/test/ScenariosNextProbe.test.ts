/**
 * Scenario: a model that is down comes back only by a successful probe. A
 * request that finds every candidate down waits in the queue only when a
 * probe is due before its deadline; when the next probe comes later, it is
 * refused at once (HTTP 503) with the time of that probe, instead of holding
 * the client for the whole queue deadline.
 *
 * Time is `TestClock`; the fakes answer over real sockets.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { HealthChecker } from "@modelgate/core/HealthChecker"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect, Either, Fiber, Option, TestClock } from "effect"
import { ask, endsWithClockStill, models, poll, stack } from "./fixture.js"

/** gpt-4o-mini alone, with no fallback: when it is down, nothing else can serve. */
const gptAlone = () => {
  const { fallbacks: _fallbacks, ...gpt } = models().models[0]!
  return { source: "test registry", models: [gpt] }
}

describe("Scenario: a model down until its next probe", () => {
  it.scoped("fails at once when the probe comes after the queue deadline, and waits for it when it comes before", () =>
    Effect.gen(function* () {
      const s = yield* stack({
        models: gptAlone(),
        gateway: {
          healthCheck: { intervalMs: 60_000, failureThreshold: 1 },
          failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 30_000 }
        }
      })
      yield* s.openai.persist(Fault.status(500))
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const health = yield* HealthChecker
        // the probe at start fails: down, and probed again after the interval
        yield* poll(health.status("gpt-4o-mini"), (h) => h.status === "unavailable", 5_000, "the first probe to fail")
        const refused = yield* endsWithClockStill(Effect.either(gateway.complete(ask("hello"), defaultRequirements)), "the request")
        assert.isTrue(Either.isLeft(refused) && refused.left._tag === "NoEligibleModel")
        if (Either.isLeft(refused)) assert.include(refused.left.message, "next probe in 60 s")

        // 50 s later the probe is 10 s away, within the deadline: the request waits, and is served once the probe succeeds
        yield* s.openai.persist(undefined)
        yield* TestClock.adjust(50_000)
        const waiting = yield* Effect.fork(gateway.complete(ask("hello again"), defaultRequirements))
        const exit = yield* poll(Effect.zipRight(TestClock.adjust(500), Fiber.poll(waiting)), Option.isSome, 10_000, "the waiting request")
        const answer = yield* Option.getOrThrow(exit)
        assert.strictEqual(answer.meta.model, "gpt-4o-mini")
        assert.strictEqual((yield* health.status("gpt-4o-mini")).status, "available")
      }).pipe(Effect.provide(s.layer))
    }))
})
