/**
 * Scenario: real requests take a failing model out, probes bring it back.
 * gpt-4o-mini answers 500 to everything: after `failureThreshold` (3) failed
 * requests (each served by its fallback claude-haiku) it is unavailable, one
 * `HealthChanged` says so, and it leaves the ranking: the next request makes
 * no call to it. Its probes then come as config/README says: after the
 * interval, then twice as long each time. Once it answers again, the next
 * probe makes it available, one `HealthChanged` says so, and it ranks again
 * (one real call at a time until one succeeds: real calls took it out).
 *
 * Time is `TestClock`; the fakes answer over real sockets.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { HealthChecker } from "@modelgate/core/HealthChecker"
import { ModelSelector } from "@modelgate/core/ModelSelector"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect, TestClock } from "effect"
import { ask, poll, recordEvents, stack } from "./fixture.js"

describe("Scenario: health follows real requests and probes", () => {
  it.scoped("three failed requests take a model out of the ranking; probes back off, then bring it back", () =>
    Effect.gen(function* () {
      const s = yield* stack({
        gateway: {
          cache: { enabled: false },
          healthCheck: { enabled: true, intervalMs: 60_000, failureThreshold: 3, backoffCapMs: 600_000 },
          failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0 }
        }
      })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const health = yield* HealthChecker
        const selector = yield* ModelSelector
        const events = yield* recordEvents
        const status = health.status("gpt-4o-mini")
        // A dry run (as the admin's preview): a request's ranking claims the one trial call of a model
        // real calls took out once its probe passes, and this one calls nothing.
        const ranked = Effect.map(
          selector.rank({ requirements: defaultRequirements, estimatedPromptTokens: 10, maxOutputTokens: 100, dryRun: true }),
          (r) => r.ranked.map((m) => m.model.id as string)
        )
        const healthChanges = Effect.map(events.ofTag("HealthChanged"), (xs) => xs.map((e) => [e.model, e.from, e.to, e.at]))
        const openAiCalls = Effect.map(s.openai.requests, (rs) => rs.length)
        yield* poll(status, (h) => h.status === "available" && h.nextProbeAt === 60_000, 5_000, "the probe at start")

        yield* s.openai.persist(Fault.status(500))
        for (let i = 0; i < 3; i++) {
          const answer = yield* gateway.complete(ask(`failing ${i}`), defaultRequirements)
          assert.deepStrictEqual([answer.meta.model, answer.meta.failovers], ["claude-haiku", 1])
        }
        assert.deepInclude(yield* status, { status: "unavailable", consecutiveFailures: 3, nextProbeAt: 60_000 })
        assert.deepStrictEqual(yield* healthChanges, [["gpt-4o-mini", "available", "unavailable", 0]])
        assert.deepStrictEqual(yield* ranked, ["claude-haiku"])
        const calls = yield* openAiCalls
        const routed = yield* gateway.complete(ask("after"), defaultRequirements)
        assert.deepStrictEqual([routed.meta.model, routed.meta.failovers], ["claude-haiku", 0])
        assert.strictEqual(yield* openAiCalls, calls, "no call to the model that is out")

        // probes at 60 s (the interval from the last one), then 60 s, 120 s, 240 s later
        for (const [at, next] of [[60_000, 120_000], [120_000, 240_000], [240_000, 480_000]] as const) {
          yield* TestClock.setTime(at)
          yield* poll(status, (h) => h.nextProbeAt === next, 5_000, `the probe at ${at}`)
          assert.deepInclude(yield* status, { status: "unavailable", lastCheckedAt: at })
        }
        assert.lengthOf(yield* healthChanges, 1, "no event while it stays down")

        yield* s.openai.persist(undefined)
        yield* TestClock.setTime(479_999)
        assert.strictEqual((yield* status).status, "unavailable", "nothing before the probe")
        yield* TestClock.setTime(480_000)
        yield* poll(status, (h) => h.status === "available", 5_000, "the probe at 480 s")
        assert.deepStrictEqual(yield* healthChanges, [
          ["gpt-4o-mini", "available", "unavailable", 0],
          ["gpt-4o-mini", "unavailable", "available", 480_000]
        ])
        assert.deepInclude(yield* status, { consecutiveFailures: 0, nextProbeAt: 540_000 })
        assert.includeMembers(yield* ranked, ["gpt-4o-mini", "claude-haiku"])
        const back = yield* gateway.complete(ask("back"), defaultRequirements)
        assert.deepStrictEqual([back.meta.model, back.meta.failovers], ["gpt-4o-mini", 0])
        // That call (its trial: real calls took it out) succeeded: fully available, every request may go to it.
        const again = yield* gateway.complete(ask("again"), defaultRequirements)
        assert.deepStrictEqual([again.meta.model, again.meta.failovers], ["gpt-4o-mini", 0])
      }).pipe(Effect.provide(s.layer))
    }), 30_000)
})
