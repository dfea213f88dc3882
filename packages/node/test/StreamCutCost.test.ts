/**
 * A stream whose connection breaks after chunks were delivered. The
 * provider generated (and bills) what it sent, as for a client that went
 * away; the gateway should count that output against the budget.
 */
import { assert, describe, it } from "@effect/vitest"
import { CostTracker } from "@modelgate/core/CostTracker"
import { Gateway } from "@modelgate/core/Gateway"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import * as FakeOpenAi from "@modelgate/testkit/FakeOpenAi"
import { Effect, Either, Stream } from "effect"
import { ask, stack } from "./fixture.js"

describe("Cost of a stream cut mid-way", () => {
  it.scopedLive("the output a broken stream delivered is counted against the budget", () =>
    Effect.gen(function* () {
      const s = yield* stack({ gateway: { cache: { enabled: false }, budgets: { global: { daily: 10 } } } })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const costs = yield* CostTracker
        yield* s.openai.script(FakeOpenAi.faults.midStreamError(3))
        const answer = yield* gateway.stream({ ...ask("tell me a long story about many things"), stream: true }, defaultRequirements)
        const got = yield* Effect.either(Stream.runCollect(answer.chunks))
        assert.isTrue(Either.isLeft(got), "the cut stream fails")
        const global = (yield* costs.budgetStatus).find((b) => b.budget === "global")!
        assert.strictEqual(global.reservedPicoUsd, 0n)
        assert.isAbove(Number(global.spentPicoUsd), 0, "chunks were delivered (and billed) but nothing was counted")
      }).pipe(Effect.provide(s.layer))
    }), 20_000)
})
