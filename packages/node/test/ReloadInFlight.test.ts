/**
 * Reloads of `models.json` while a request is in flight (held at the fake
 * provider): a request is priced at the price of the model as it started
 * (its ranking's copy), whatever a reload changes meanwhile; the next one at
 * the new price. A request on a model that a reload removes finishes, is
 * priced and recorded, and leaves no health entry and no performance figures
 * behind for the model.
 *
 * Time is `TestClock`, pinned at noon UTC; the fakes answer over real sockets.
 */
import { assert, describe, it } from "@effect/vitest"
import { CostTracker } from "@modelgate/core/CostTracker"
import { Gateway } from "@modelgate/core/Gateway"
import { HealthChecker } from "@modelgate/core/HealthChecker"
import { PerformanceDetails } from "@modelgate/core/PerformanceMonitor"
import type { ChatResponse } from "@modelgate/domain/Chat"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect, Fiber, TestClock } from "effect"
import { ask, models, noonUtc, poll, stack } from "./fixture.js"
import { reload, writeModels } from "./reloadFixture.js"

/** The registry with gpt-4o-mini at `input` / `output` USD per million tokens, or without it. */
const registry = (mini: { readonly input: number; readonly output: number } | "removed") => {
  const m = models()
  const [first, haiku] = [m.models[0]!, m.models[1]!]
  if (mini === "removed") return { ...m, models: [haiku] }
  return { ...m, models: [{ ...first, pricing: { inputPerMillion: mini.input, outputPerMillion: mini.output } }, haiku] }
}

/** USD of `response`'s usage at `input` / `output` USD per million tokens. */
const usd = (response: ChatResponse, price: { readonly input: number; readonly output: number }) =>
  (response.usage.prompt_tokens * price.input + response.usage.completion_tokens * price.output) / 1e6

const gateway = { cache: { enabled: false }, failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0 } }

/** Run one request held at the fake while `meanwhile` runs, then answered. */
const heldDuring = <A, E, R>(s: Effect.Effect.Success<ReturnType<typeof stack>>, meanwhile: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const gate = yield* Effect.makeLatch(false)
    yield* s.openai.persist(Fault.hold(gate))
    const g = yield* Gateway
    const fiber = yield* Effect.fork(g.complete(ask("in flight"), defaultRequirements))
    yield* s.openai.awaitHeld(1)
    yield* meanwhile
    yield* s.openai.persist(undefined)
    yield* gate.open
    return yield* Fiber.join(fiber)
  })

describe("Reload while a request is in flight", () => {
  it.scoped("a price change: the request in flight is priced as it started, the next one at the new price", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(noonUtc)
      const before = { input: 0.15, output: 0.6 }
      const after = { input: 15, output: 60 }
      const s = yield* stack({ models: registry(before), gateway })
      yield* Effect.gen(function* () {
        const inFlight = yield* heldDuring(s, Effect.zipRight(writeModels(s, registry(after)), reload))
        assert.closeTo(inFlight.meta.costUsd!, usd(inFlight.response, before), 1e-12)
        const g = yield* Gateway
        const next = yield* g.complete(ask("after the reload"), defaultRequirements)
        assert.closeTo(next.meta.costUsd!, usd(next.response, after), 1e-12)
      }).pipe(Effect.provide(s.layer))
    }), 30_000)

  it.scoped("a model removed: the request in flight finishes, is recorded at its price, and leaves no health entry or figures", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(noonUtc)
      const price = { input: 0.15, output: 0.6 }
      const s = yield* stack({ models: registry(price), gateway })
      yield* Effect.gen(function* () {
        const inFlight = yield* heldDuring(s, Effect.zipRight(writeModels(s, registry("removed")), reload))
        assert.strictEqual(inFlight.meta.model, "gpt-4o-mini")
        assert.closeTo(inFlight.meta.costUsd!, usd(inFlight.response, price), 1e-12)
        // Recorded: the writer flushes every 20 ms of the TestClock.
        const costs = yield* CostTracker
        const byModel = yield* poll(
          Effect.zipRight(TestClock.adjust("20 millis"), costs.costByModel()),
          (groups) => groups.some((g) => g.key === "gpt-4o-mini"),
          5_000,
          "the cost record of the request in flight"
        )
        assert.isTrue(byModel.some((g) => g.key === "gpt-4o-mini" && g.costPicoUsd > 0n))
        const health = yield* HealthChecker
        assert.deepStrictEqual((yield* health.all).map((h) => h.model), ["claude-haiku"], "health lists a removed model")
        const performance = yield* PerformanceDetails
        assert.deepStrictEqual((yield* performance.allPerformance).map((p) => p.model), [], "performance lists a removed model")
      }).pipe(Effect.provide(s.layer))
    }), 30_000)
})
