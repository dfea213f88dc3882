/**
 * With two OpenAI keys, a 429 on each (retry hints 2 s and 3 s) leaves the
 * model no key to run on: the gateway announces the model rate limited once
 * (a `RateLimited` naming no key) until its first key frees, and back
 * (`WindowReset` naming no key) when a queued request finds it again. A 429 on
 * one key only announces that key.
 */
import { assert, describe, it } from "@effect/vitest"
import type { GatewayEvent } from "@modelgate/domain/Events"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Effect, Either, Fiber, TestClock } from "effect"
import { ask, noonUtc, recordEvents } from "./fixture.js"
import { onTwoKeys, refusedFor } from "./TwoKeysFixture.js"

/** gpt-4o-mini's RateLimited / WindowReset events as [tag, key, ms after noon, retryAfterMs]. */
const limits = (all: ReadonlyArray<GatewayEvent>) =>
  all.flatMap((e) =>
    (e._tag === "RateLimited" || e._tag === "WindowReset") && e.model === "gpt-4o-mini"
      ? [[e._tag, e.keyId, e.at - noonUtc, e._tag === "RateLimited" ? e.retryAfterMs : undefined] as const]
      : []
  )

describe("Events after a 429 on every key of a provider", () => {
  it.scoped("the model is announced rate limited once until its first key frees, and back when a queued request is served", () =>
    onTwoKeys((s, gateway) =>
      Effect.gen(function* () {
        const events = yield* recordEvents
        yield* s.openai.script(refusedFor(2), refusedFor(3))
        // refused on key A, then on key B it moved to
        assert.isTrue(Either.isLeft(yield* Effect.either(gateway.complete(ask("first"), defaultRequirements))))
        yield* events.waitFor("RateLimited", (e) => e.keyId === undefined)
        assert.deepStrictEqual(limits(yield* events.all), [
          ["RateLimited", "openai#0", 0, 2_000],
          ["RateLimited", "openai#1", 0, 3_000],
          ["RateLimited", undefined, 0, 2_000]
        ])

        const fiber = yield* Effect.fork(Effect.either(gateway.complete(ask("third"), defaultRequirements)))
        yield* TestClock.adjust("3 seconds")
        const third = yield* Fiber.join(fiber)
        assert.isTrue(Either.isRight(third))
        yield* events.waitFor("WindowReset", (e) => e.keyId === undefined)
        const modelWide = limits(yield* events.all).filter(([, key]) => key === undefined)
        assert.deepStrictEqual(modelWide.map(([tag]) => tag), ["RateLimited", "WindowReset"])
        // back once its first key frees (2 s), found by the queued request's next look (before 3 s)
        const backAt = modelWide[1]![2]
        assert.isTrue(backAt >= 2_000 && backAt <= 3_000, `WindowReset at ${backAt} ms`)
      })), 30_000)

  it.scoped("a 429 on one key of two announces the key, not the model", () =>
    onTwoKeys((s, gateway) =>
      Effect.gen(function* () {
        const events = yield* recordEvents
        yield* s.openai.script(refusedFor(30))
        // the refused call moves to the other key
        const first = yield* gateway.complete(ask("first"), defaultRequirements)
        const answer = yield* gateway.complete(ask("second"), defaultRequirements)
        assert.deepStrictEqual([first.meta.model, answer.meta.model], ["gpt-4o-mini", "gpt-4o-mini"])
        // published after anything the first request's refusal published
        yield* events.waitFor("ModelSelected", (e) => e.requestId === answer.meta.requestId)
        assert.deepStrictEqual(limits(yield* events.all), [["RateLimited", "openai#0", 0, 30_000]])
      })), 30_000)
})
