/**
 * A `Failover` event goes to every team's `/v1/events`: when a candidate's
 * budget reservation is refused by the request's own agent-type budget (room
 * taken by a concurrent request after the ranking), the event's reason says
 * so without naming the team or its spend. The failover record (admin only)
 * keeps the full reason.
 */
import { assert, describe, it } from "@effect/vitest"
import { BudgetExceeded } from "@modelgate/domain/Errors"
import type { ModelMetadata } from "@modelgate/domain/Model"
import { Effect } from "effect"
import type { AttemptError } from "../src/Failover.js"
import { model, setupFailover } from "./RoutingFixtures.js"

const a = model("a")
const b = model("b")

const refusedBy = (budget: string) =>
  new BudgetExceeded({ budget, period: "daily", limitUsd: 1, spentUsd: 0.99, retryAfterMs: 1_000, requestUsd: 0.02 })

describe("Failover reason", () => {
  it.effect("names no agent-type budget in the event, only in the record", () =>
    Effect.gen(function*() {
      const { events, failover, sink } = yield* setupFailover({ failover: { backoffBaseMs: 0, backoffCapMs: 0 } })
      const attempt = (m: ModelMetadata): Effect.Effect<string, AttemptError> =>
        m.id === "a" ? Effect.fail(refusedBy("agentType:secret-team")) : Effect.succeed(`answer from ${m.id}`)
      const out = yield* failover.run([a, b], attempt, { requestId: "r1" })
      assert.strictEqual(out.model.id, "b")
      const [event] = (yield* events.all).filter((e) => e._tag === "Failover")
      assert.isDefined(event)
      const reason = event!._tag === "Failover" ? event!.reason : ""
      assert.include(reason, "BudgetExceeded")
      assert.notInclude(reason, "secret-team")
      assert.notInclude(reason, "0.99")
      const records = (yield* sink.all).filter((r) => r._tag === "FailoverRecord")
      assert.include(records.map((r) => (r._tag === "FailoverRecord" ? r.reason : "")).join(" "), "agentType:secret-team")
    }))

  it.effect("a global or model budget is named: every team sees those budgets' events anyway", () =>
    Effect.gen(function*() {
      const { events, failover } = yield* setupFailover({ failover: { backoffBaseMs: 0, backoffCapMs: 0 } })
      const attempt = (m: ModelMetadata): Effect.Effect<string, AttemptError> =>
        m.id === "a" ? Effect.fail(refusedBy("model:a")) : Effect.succeed(`answer from ${m.id}`)
      yield* failover.run([a, b], attempt)
      const [event] = (yield* events.all).filter((e) => e._tag === "Failover")
      assert.include(event!._tag === "Failover" ? event!.reason : "", "model:a")
    }))
})
