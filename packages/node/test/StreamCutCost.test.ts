/**
 * A stream whose connection breaks after chunks were delivered. The
 * provider generated (and bills) what it sent, as for a client that went
 * away; the gateway should count that output against the budget.
 */
import { Fault } from "@modelgate/testkit/FakeServer"
import { assert, describe, it } from "@effect/vitest"
import { CostTracker } from "@modelgate/core/CostTracker"
import { Gateway } from "@modelgate/core/Gateway"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Effect, Either, Stream } from "effect"
import { ask, stack } from "./fixture.js"

describe("Cost of a stream cut mid-way", () => {
  it.scopedLive("the output a broken stream delivered is counted against the budget", () =>
    Effect.gen(function* () {
      const s = yield* stack({ gateway: { cache: { enabled: false }, budgets: { global: { daily: 10 } } } })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const costs = yield* CostTracker
        // The error comes once the stream has begun (in the same read as its first text it would fail over).
        const later = yield* Effect.makeLatch(false)
        const error = { error: { message: "The server had an error while processing your request.", type: "server_error", code: null } }
        yield* s.openai.script(Fault.inject(3, `data: ${JSON.stringify(error)}\n\n`, later))
        const answer = yield* gateway.stream({ ...ask("tell me a long story about many things"), stream: true }, defaultRequirements)
        yield* later.open
        const got = yield* Effect.either(Stream.runCollect(answer.chunks))
        assert.isTrue(Either.isLeft(got), "the cut stream fails")
        const global = (yield* costs.budgetStatus).find((b) => b.budget === "global")!
        assert.strictEqual(global.reservedPicoUsd, 0n)
        assert.isAbove(Number(global.spentPicoUsd), 0, "chunks were delivered (and billed) but nothing was counted")
      }).pipe(Effect.provide(s.layer))
    }), 20_000)
})
