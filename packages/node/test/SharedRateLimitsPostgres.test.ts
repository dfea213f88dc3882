/**
 * Two gateway instances on one PostgreSQL database share a model's rate
 * limit: what one admitted counts on the other (one started later too) within
 * `rateLimits.syncIntervalMs` (on by default on PostgreSQL), so once the
 * model's requests per minute are used up across both, the other instance
 * fails over to the fallback instead of sending the provider one more
 * request over the limit.
 */
import { assert, layer } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { ModelRegistry } from "@modelgate/core/ModelRegistry"
import { RateLimiter } from "@modelgate/core/RateLimiter"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import * as TestPostgres from "@modelgate/testkit/TestPostgres"
import { Effect } from "effect"
import { ask, models, poll } from "./fixture.js"
import { postgresPair } from "./postgresPair.js"

layer(TestPostgres.layer, { timeout: 60_000, excludeTestServices: true })("two gateways on one PostgreSQL database", (it) => {
  it.scoped("share a model's requests per minute: the other instance fails over once the limit is used up between them", () =>
    Effect.gen(function* () {
      const { a, another, fakes } = yield* postgresPair({
        prefix: "modelgate-shared-limits-",
        models: models({ rpm: 4 }),
        gateway: { rateLimits: { syncIntervalMs: 50 }, cache: { enabled: false } }
      })
      const complete = (content: string) => Effect.flatMap(Gateway, (g) => g.complete(ask(content), defaultRequirements))

      // A runs alone: it may use the whole limit.
      for (let i = 0; i < 4; i++) {
        const answer = yield* complete(`from a ${i}`).pipe(Effect.provide(a))
        assert.strictEqual(answer.meta.model, "gpt-4o-mini")
      }
      assert.strictEqual((yield* fakes.openai.requests).length, 4)
      const b = yield* another

      // B counts A's 4 requests within the sync interval.
      const mini = yield* Effect.flatMap(ModelRegistry, (r) => r.get("gpt-4o-mini")).pipe(Effect.provide(b))
      const used = Effect.flatMap(RateLimiter, (l) => l.headroom(mini, 10, undefined, true)).pipe(Effect.provide(b))
      yield* poll(used, (h) => h.requestsUsed === 4 && !h.fits, 5_000, "b's window to count a's 4 requests")

      // The limit is used up between them: B serves from the fallback, and OpenAI gets no fifth request.
      const answer = yield* complete("from b").pipe(Effect.provide(b))
      assert.strictEqual(answer.meta.model, "claude-haiku")
      assert.strictEqual((yield* fakes.openai.requests).length, 4)
    }))
})
