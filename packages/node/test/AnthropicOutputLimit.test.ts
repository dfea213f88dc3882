/**
 * Anthropic's output-token limit (OTPM) on the whole stack: Anthropic charges
 * each call's `max_tokens` against it when the call starts, so once the
 * gateway has seen the key's output limit and what is left, a call whose
 * `max_tokens` no longer fits beside the calls in flight is not sent (it would
 * be a 429), and each call gives back what it did not write when it ends.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect, Fiber, Stream, TestClock } from "effect"
import { ask, endsWithClockStill, noonUtc, stack } from "./fixture.js"

/** The stack at noon, its Anthropic key limited to 8 000 output tokens a minute (and little else). */
const outputLimited = Effect.zipRight(
  TestClock.setTime(noonUtc),
  stack({
    gateway: { cache: { enabled: false } },
    anthropic: { limits: { requests: 1_000, tokens: 1_000_000, outputTokens: 8_000 }, now: () => noonUtc }
  })
)

describe("Anthropic's output-token limit", () => {
  it.scoped("8 000 output tokens a minute, calls of max_tokens 4 096: the third is not sent while the second is in flight; it goes once that one settles", () =>
    Effect.gen(function* () {
      const s = yield* outputLimited
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const call = (i: number) => gateway.complete(ask(`question ${i}`, "claude-haiku", { max_tokens: 4_096 }), defaultRequirements)
        // the first answer tells the key's output limit: 8 000, less the little it wrote
        assert.strictEqual((yield* call(1)).meta.model, "claude-haiku")
        const gate = yield* Effect.makeLatch(false)
        yield* s.anthropic.persist(Fault.hold(gate))
        const second = yield* Effect.fork(call(2))
        yield* s.anthropic.awaitHeld(1)
        // 4 096 held by the second call in flight: less than 4 096 left for the third
        const third = yield* endsWithClockStill(Effect.flip(call(3)), "the third call")
        // refused by the gateway, told when the key's output is whole again (the fake's reset: 60 s)
        assert.strictEqual(third._tag, "AllCandidatesFailed")
        assert.deepStrictEqual(third._tag === "AllCandidatesFailed" ? third.failures.map((f) => [f.tag, f.retryAfterMs]) : [], [["RateLimitExceeded", 60_000]])
        assert.lengthOf(yield* s.anthropic.requests, 2, "the third call was not sent")
        yield* s.anthropic.persist(undefined)
        yield* gate.open
        yield* Fiber.join(second)
        // the second settled to what it wrote: room for another 4 096 again
        assert.strictEqual((yield* call(4)).meta.model, "claude-haiku")
        assert.lengthOf(yield* s.anthropic.requests, 3)
      }).pipe(Effect.provide(s.layer))
    }))

  it.scoped("a stream's own max_tokens is in the count its opening headers bring: not held a second time while it runs", () =>
    Effect.gen(function* () {
      const s = yield* outputLimited
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const call = (i: number) => gateway.complete(ask(`question ${i}`, "claude-haiku", { max_tokens: 3_000 }), defaultRequirements)
        // the first answer tells the key's output limit
        assert.strictEqual((yield* call(1)).meta.model, "claude-haiku")
        // a stream of max_tokens 3 000 opens: its headers say about 5 000 left, its own 3 000 already counted by Anthropic
        const streamed = yield* gateway.stream({ ...ask("a story", "claude-haiku", { max_tokens: 3_000 }), stream: true }, defaultRequirements)
        // while it runs, another call of 3 000 fits in what Anthropic has left: it is sent, not refused by the gateway
        const third = yield* endsWithClockStill(Effect.either(call(3)), "the third call")
        assert.isTrue(third._tag === "Right", `the third call was refused: ${third._tag === "Left" ? third.left.message : ""}`)
        assert.lengthOf(yield* s.anthropic.requests, 3)
        yield* Stream.runDrain(streamed.chunks)
      }).pipe(Effect.provide(s.layer))
    }))
})
