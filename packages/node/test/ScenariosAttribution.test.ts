/**
 * Scenario: whose fault a failed call is. A model's health and its success
 * rate follow what the model did, not what the request or the client did:
 * - a 500 on gpt-4o-mini, then the answer from its fallback claude-haiku:
 *   the failure counts against gpt-4o-mini only, the success for claude-haiku;
 * - a 400 (the request is malformed) counts against nobody;
 * - a client that goes away while its call is in flight counts against nobody.
 * Every call is still offered to the records (what happened is kept).
 *
 * Time is `TestClock`; the fakes answer over real sockets. Health checks are
 * off (passive signals only), so only real calls move health.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { HealthChecker } from "@modelgate/core/HealthChecker"
import { PerformanceMonitor } from "@modelgate/core/PerformanceMonitor"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect, Either, Fiber, Option } from "effect"
import { ask, stack } from "./fixture.js"

describe("Scenario: failures are counted against the model at fault only", () => {
  it.scoped("a failover counts against the model that failed; a 400 and a client that left count against none", () =>
    Effect.gen(function* () {
      const s = yield* stack({ gateway: { cache: { enabled: false }, failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0 } } })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const health = yield* HealthChecker
        const monitor = yield* PerformanceMonitor
        const perf = (model: string) => Effect.map(monitor.modelPerformance(model), Option.getOrUndefined)

        // one good call on each model
        yield* gateway.complete(ask("hello", "gpt-4o-mini"), defaultRequirements)
        yield* gateway.complete(ask("hello", "claude-haiku"), defaultRequirements)

        // gpt-4o-mini answers 500; its fallback claude-haiku answers
        yield* s.openai.script(Fault.status(500))
        const answer = yield* gateway.complete(ask("fail over", "gpt-4o-mini"), defaultRequirements)
        assert.strictEqual(answer.meta.model, "claude-haiku")
        assert.strictEqual(answer.meta.failovers, 1)
        assert.strictEqual((yield* health.status("gpt-4o-mini")).consecutiveFailures, 1)
        assert.strictEqual((yield* health.status("claude-haiku")).consecutiveFailures, 0)
        assert.deepInclude(yield* perf("gpt-4o-mini"), { requests: 2, successRate: 0.5, errorsByClass: { ServerError: 1 } })
        assert.deepInclude(yield* perf("claude-haiku"), { requests: 2, successRate: 1, errorsByClass: {} })

        // a 400: the request's fault (no failover, no count)
        yield* s.openai.script(Fault.status(400, { message: "bad request from the client" }))
        const refused = yield* Effect.either(gateway.complete(ask("malformed", "gpt-4o-mini"), defaultRequirements))
        assert.isTrue(Either.isLeft(refused) && refused.left._tag === "BadRequest")
        assert.strictEqual((yield* health.status("gpt-4o-mini")).consecutiveFailures, 1)
        assert.deepInclude(yield* perf("gpt-4o-mini"), { requests: 2, successRate: 0.5, errorsByClass: { ServerError: 1 } })

        // a client that goes away while gpt-4o-mini is working on its call
        const gate = yield* Effect.makeLatch(false)
        yield* s.openai.script(Fault.hold(gate))
        const leaving = yield* Effect.fork(gateway.complete(ask("never mind", "gpt-4o-mini"), defaultRequirements))
        yield* s.openai.awaitHeld(1)
        yield* Fiber.interrupt(leaving)
        yield* gate.open
        assert.strictEqual((yield* health.status("gpt-4o-mini")).consecutiveFailures, 1)
        assert.deepInclude(yield* perf("gpt-4o-mini"), { requests: 2, successRate: 0.5, errorsByClass: { ServerError: 1 } })
      }).pipe(Effect.provide(s.layer))
    }), 20_000)
})
