/**
 * Two gateway instances on one PostgreSQL database share what their health
 * checks learn: once OpenAI has failed A's calls to gpt-4o-mini often enough
 * to make it unavailable on A, B sets it aside too within
 * `healthCheck.syncIntervalMs` (on by default on PostgreSQL) and serves from
 * the fallback at once, without a failed call of its own.
 */
import { assert, layer } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { HealthChecker } from "@modelgate/core/HealthChecker"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Fault } from "@modelgate/testkit/FakeServer"
import * as TestPostgres from "@modelgate/testkit/TestPostgres"
import { Effect } from "effect"
import { ask, models, poll } from "./fixture.js"
import { postgresPair } from "./postgresPair.js"

layer(TestPostgres.layer, { timeout: 60_000, excludeTestServices: true })("two gateways on one PostgreSQL database", (it) => {
  it.scoped("share a model found unavailable: the other instance serves from the fallback without a failed call of its own", () =>
    Effect.gen(function* () {
      const { a, another, fakes } = yield* postgresPair({
        prefix: "modelgate-shared-health-",
        models: models(),
        // Passive health only: what the calls teach is all each instance knows.
        gateway: { healthCheck: { enabled: false, syncIntervalMs: 50 }, cache: { enabled: false }, failover: { backoffBaseMs: 0, backoffCapMs: 0 } }
      })
      const b = yield* another
      const complete = (content: string) => Effect.flatMap(Gateway, (g) => g.complete(ask(content), defaultRequirements))

      // OpenAI answers 500 to everything: A's three calls fail over to claude-haiku, and gpt-4o-mini is unavailable on A.
      yield* fakes.openai.persist(Fault.status(500))
      for (let i = 0; i < 3; i++) {
        const answer = yield* complete(`from a ${i}`).pipe(Effect.provide(a))
        assert.strictEqual(answer.meta.model, "claude-haiku")
      }
      const failedOnA = (yield* fakes.openai.requests).length
      assert.isAtLeast(failedOnA, 3)
      const onB = Effect.flatMap(HealthChecker, (h) => h.status("gpt-4o-mini")).pipe(Effect.provide(b))
      yield* poll(onB, (h) => h.status === "unavailable", 5_000, "gpt-4o-mini unavailable on b")
      assert.match((yield* onB).reason, /^unavailable on another instance: /)

      const answer = yield* complete("from b").pipe(Effect.provide(b))
      assert.strictEqual(answer.meta.model, "claude-haiku")
      assert.strictEqual(answer.meta.failovers, 0, "no failed call on b")
      assert.strictEqual((yield* fakes.openai.requests).length, failedOnA)
    }))
})
