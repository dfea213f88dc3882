/**
 * A model whose only key the provider has limited (429, remaining 0
 * for 2 s) is rate limited; with a 5 s queue deadline a request for it should
 * wait in the queue and be answered once the 2 s have passed, as it does when
 * the gateway's own window is full.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import * as FakeOpenAi from "@modelgate/testkit/FakeOpenAi"
import { Effect, Either, Fiber, TestClock } from "effect"
import { ask, models, noonUtc, stack } from "./fixture.js"

const onlyMini = () => {
  const m = models()
  return { ...m, models: [{ ...m.models[0]!, fallbacks: [] }] }
}

describe("The wait queue after a provider 429", () => {
  it.scoped("a request for a provider-limited model waits for the limit to pass instead of failing at once", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(noonUtc)
      const s = yield* stack({
        models: onlyMini(),
        gateway: { cache: { enabled: false }, failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 5_000 } }
      })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        yield* s.openai.script(FakeOpenAi.faults.rateLimited(2))
        const first = yield* Effect.either(gateway.complete(ask("first"), defaultRequirements))
        assert.isTrue(Either.isLeft(first))
        const fiber = yield* Effect.fork(Effect.either(gateway.complete(ask("second"), defaultRequirements)))
        yield* TestClock.adjust("3 seconds")
        const second = yield* Fiber.join(fiber)
        assert.isTrue(Either.isRight(second), `failed: ${Either.isLeft(second) ? (second.left as Error).message : ""}`)
      }).pipe(Effect.provide(s.layer))
    }), 20_000)
})
