/**
 * Degraded mode must not be entered by a request whose own asks rule every
 * model out, even when one of the models happens to be down at the time:
 * `maxCostPerRequestUsd` below every model's cost, or a spent budget (README:
 * budgets answer 429 at once and do not put the gateway in degraded mode).
 * Such a request is refused at once, not after the queue deadline.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { HealthChecker } from "@modelgate/core/HealthChecker"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect, Either, TestClock } from "effect"
import { ask, endsWithClockStill, noonUtc, poll, recordEvents, stack } from "./fixture.js"

type GatewayOptions = NonNullable<Parameters<typeof stack>[0]>["gateway"]

/** Run `body` on the fake stack once claude-haiku is down (its provider answers 500 to everything). */
const whileClaudeIsDown = <A, E>(
  gateway: GatewayOptions,
  body: (gateway: Gateway["Type"], events: Effect.Effect.Success<typeof recordEvents>) => Effect.Effect<A, E>
) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(noonUtc)
    const s = yield* stack({ gateway: { cache: { enabled: false }, ...gateway } })
    yield* s.anthropic.persist(Fault.status(500))
    return yield* Effect.gen(function* () {
      const health = yield* HealthChecker
      const events = yield* recordEvents
      yield* poll(health.status("claude-haiku"), (h) => h.status === "unavailable", 5_000, "claude-haiku down")
      return yield* body(yield* Gateway, events)
    }).pipe(Effect.provide(s.layer))
  })

const degradedTags = (events: Effect.Effect.Success<typeof recordEvents>) =>
  Effect.map(events.all, (all) => all.map((e) => e._tag).filter((t) => t.startsWith("DegradedMode")))

const tooDear = { ...defaultRequirements, maxCostPerRequestUsd: 1e-12 }

describe("degraded mode and a request's own asks", () => {
  it.scoped("a maxCost no model meets does not enter degraded mode though one model is down", () =>
    whileClaudeIsDown(
      { healthCheck: { intervalMs: 60_000, failureThreshold: 1 }, failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0 } },
      (gateway, events) =>
        Effect.gen(function* () {
          const refused = yield* endsWithClockStill(Effect.either(gateway.complete(ask("hello", "auto"), tooDear)), "the request")
          assert.isTrue(Either.isLeft(refused) && refused.left._tag === "NoEligibleModel")
          // a served request, then check the events
          yield* gateway.complete(ask("fine", "gpt-4o-mini"), defaultRequirements)
          assert.deepStrictEqual(yield* degradedTags(events), [], "the gateway was never degraded: the request's own cap ruled out every model")
        })
    ), 20_000)

  it.scoped("a maxCost no model meets is refused at once, not after the queue deadline, while a model is down", () =>
    whileClaudeIsDown(
      { healthCheck: { intervalMs: 1_000, failureThreshold: 1 }, failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 30_000 } },
      (gateway) =>
        Effect.gen(function* () {
          const refused = yield* endsWithClockStill(Effect.either(gateway.complete(ask("hello", "auto"), tooDear)), "the request", 3_000)
          assert.isTrue(Either.isLeft(refused) && refused.left._tag === "NoEligibleModel")
        })
    ), 20_000)

  it.scoped("a spent budget is BudgetExceeded at once and does not enter degraded mode", () =>
    whileClaudeIsDown(
      {
        budgets: { global: { daily: 0.0001 } },
        healthCheck: { intervalMs: 1_000, failureThreshold: 1 },
        failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 3_000 }
      },
      (gateway, events) =>
        Effect.gen(function* () {
          let spent = false
          for (let i = 0; i < 200 && !spent; i++) {
            const r = yield* endsWithClockStill(
              Effect.either(gateway.complete(ask(`spend ${i}`, "gpt-4o-mini", { max_tokens: 20 }), { ...defaultRequirements, allowedModels: ["gpt-4o-mini"] })),
              `spend ${i}`
            )
            spent = Either.isLeft(r)
          }
          assert.isTrue(spent)
          const refused = yield* endsWithClockStill(
            Effect.either(gateway.complete(ask("auto please", "auto", { max_tokens: 20 }), defaultRequirements)),
            "the auto request",
            4_000
          )
          assert.isTrue(Either.isLeft(refused))
          if (Either.isLeft(refused)) assert.strictEqual(refused.left._tag, "BudgetExceeded")
          assert.deepStrictEqual(yield* degradedTags(events), [])
        })
    ), 30_000)
})
