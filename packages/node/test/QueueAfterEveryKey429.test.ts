/**
 * With two OpenAI keys, a 429 with a retry hint on each key leaves the model
 * no key to run on: like a provider's only key refused, the model is rate
 * limited, and a request for it waits in the queue and is served once the
 * first hint has passed. A 429 on one key only leaves the model to the other
 * (the refused call itself moves there: Provider429LongHintOtherKey.test.ts).
 */
import { assert, describe, it } from "@effect/vitest"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Effect, Either, Fiber, TestClock } from "effect"
import { ask, endsWithClockStill } from "./fixture.js"
import { keyA, keyB, onTwoKeys, refusedFor } from "./TwoKeysFixture.js"

const chatKeys = (requests: ReadonlyArray<{ readonly path: string; readonly headers: Readonly<Record<string, string>> }>) =>
  requests.filter((r) => r.path.endsWith("/chat/completions")).map((r) => r.headers["authorization"]?.slice("Bearer ".length))

describe("The wait queue after a 429 on every key of a provider", () => {
  it.scoped("with both keys refused for 2 s, a request waits in the queue and is served by the model once 2 s have passed", () =>
    onTwoKeys((s, gateway) =>
      Effect.gen(function* () {
        yield* s.openai.script(refusedFor(2), refusedFor(2))
        // the first request is refused on key A, then on key B it moved to: no key left, it fails
        assert.isTrue(Either.isLeft(yield* Effect.either(gateway.complete(ask("first"), defaultRequirements))))
        assert.deepStrictEqual(chatKeys(yield* s.openai.requests), [keyA, keyB])

        const fiber = yield* Effect.fork(Effect.either(gateway.complete(ask("third"), defaultRequirements)))
        yield* TestClock.adjust("3 seconds")
        const third = yield* Fiber.join(fiber)
        assert.isTrue(Either.isRight(third), `failed: ${Either.isLeft(third) ? (third.left as Error).message : ""}`)
        if (Either.isRight(third)) assert.strictEqual(third.right.meta.model, "gpt-4o-mini")
        // nothing was sent while both keys were refused: one call, after the hint
        assert.lengthOf(chatKeys(yield* s.openai.requests), 3)
      })), 30_000)

  it.scoped("with one of two keys refused for 30 s, the next request is served at once by the model on the other key", () =>
    onTwoKeys((s, gateway) =>
      Effect.gen(function* () {
        yield* s.openai.script(refusedFor(30))
        // the refused call moves to key B
        const first = yield* endsWithClockStill(gateway.complete(ask("first"), defaultRequirements), "the refused request")
        assert.strictEqual(first.meta.model, "gpt-4o-mini")
        for (let i = 0; i < 3; i++) {
          const answer = yield* endsWithClockStill(gateway.complete(ask(`next ${i}`), defaultRequirements), `request ${i} on key B`)
          assert.strictEqual(answer.meta.model, "gpt-4o-mini")
        }
        assert.deepStrictEqual(chatKeys(yield* s.openai.requests), [keyA, keyB, keyB, keyB, keyB])
      })), 30_000)
})
