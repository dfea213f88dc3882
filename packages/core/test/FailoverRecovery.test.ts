import { assert, describe, it } from "@effect/vitest"
import type { ModelMetadata } from "@modelgate/domain/Model"
import { ServerError } from "@modelgate/domain/ProviderError"
import { Effect, Ref } from "effect"
import { candidatesFor } from "../src/Failover.js"
import type { SelectionInput } from "../src/ModelSelector.js"
import { makeHealth, model, setupFailover, setupSelector } from "./RoutingFixtures.js"

const input: SelectionInput = {
  requirements: { capabilities: [], priority: "HIGH" },
  estimatedPromptTokens: 200,
  maxOutputTokens: 200
}

describe("Failover with the selector's ranking", () => {
  it.effect("routes around a failing model and goes back to it once it is healthy again", () =>
    Effect.gen(function*() {
      const best = model("best", { qualityScore: 0.95 })
      const backup = model("backup", { qualityScore: 0.6 })
      const health = yield* makeHealth(3)
      const { selector } = yield* setupSelector([best, backup], undefined, { health })
      const { events, failover } = yield* setupFailover({ health, failover: { backoffBaseMs: 0, backoffCapMs: 0 } })
      const down = yield* Ref.make(true)
      const attempt = (m: ModelMetadata) =>
        Effect.flatMap(Ref.get(down), (isDown) =>
          m.id === "best" && isDown
            ? Effect.fail(new ServerError({ provider: "openai", model: m.id, status: 500, detail: "down" }))
            : Effect.succeed(m.id))
      const request = Effect.gen(function*() {
        const ranking = yield* selector.rank(input)
        return yield* failover.run(candidatesFor("auto", ranking), attempt)
      })
      const failoversSoFar = Effect.map(events.all, (all) => all.filter((e) => e._tag === "Failover").length)

      // the first three requests try `best`, fail, and fail over; the third failure marks it unavailable
      for (let i = 0; i < 3; i++) {
        const out = yield* request
        assert.strictEqual(out.model.id, "backup")
        assert.strictEqual(out.failovers, 1)
      }
      assert.isFalse(yield* health.service.isAvailable("best"))
      // while it is unavailable the ranking leaves it out: no more failovers
      const during = yield* request
      assert.strictEqual(during.model.id, "backup")
      assert.strictEqual(during.failovers, 0)
      assert.strictEqual(yield* failoversSoFar, 3)

      // a probe succeeds: the next request goes straight back to `best`
      yield* Ref.set(down, false)
      yield* health.set("best", true)
      const after = yield* request
      assert.strictEqual(after.model.id, "best")
      assert.strictEqual(after.failovers, 0)
      assert.strictEqual(yield* failoversSoFar, 3)
    }))
})
