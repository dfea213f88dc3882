/**
 * A provider's 429 on one key whose `retry-after` is longer than
 * `providers.<name>.maxRetryWaitMs` (the adapter does not wait it out), while
 * another key of the provider has room: the call moves to that key, on the
 * model the client asked for, a stream before its first byte as a complete
 * call does. OpenAI's `429 insufficient_quota` (the key's account is out of
 * credit) moves to the other key too (it is `Unauthorized`: the key is set
 * aside). Before the fix a long hint failed the request over to the next
 * model (claude-haiku) although gpt-4o-mini had room on the other key.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import * as FakeOpenAi from "@modelgate/testkit/FakeOpenAi"
import { Effect, Stream, TestClock } from "effect"
import { ask, endsWithClockStill, noonUtc, stack } from "./fixture.js"
import { chatKeys, keyA, keyB, refusedFor } from "./TwoKeysFixture.js"

/** gpt-4o-mini (falling back to claude-haiku) on two OpenAI keys, no cache, no failover waits. */
const twoKeys = Effect.gen(function* () {
  yield* TestClock.setTime(noonUtc)
  return yield* stack({
    openAiApiKeys: [keyA, keyB],
    gateway: { cache: { enabled: false }, failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0 } }
  })
})

/** The chat calls claude-haiku's provider got. */
const anthropicCalls = (requests: ReadonlyArray<{ readonly path: string }>) => requests.filter((r) => r.path.includes("messages")).length

describe("Provider 429 with a long retry-after on one key while another key has room", () => {
  it.scoped("a complete call moves to the other key, on the model asked for", () =>
    Effect.gen(function* () {
      const s = yield* twoKeys
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        yield* s.openai.script(refusedFor(60))
        const answer = yield* endsWithClockStill(gateway.complete(ask("first"), defaultRequirements), "the call after its 429")
        assert.deepStrictEqual([answer.meta.model, answer.meta.failovers], ["gpt-4o-mini", 0])
        assert.deepStrictEqual(chatKeys(yield* s.openai.requests), [keyA, keyB])
        assert.strictEqual(anthropicCalls(yield* s.anthropic.requests), 0)
        // Key A stays refused for its hint: the next request goes on key B.
        yield* endsWithClockStill(gateway.complete(ask("second"), defaultRequirements), "the next request")
        assert.deepStrictEqual(chatKeys(yield* s.openai.requests), [keyA, keyB, keyB])
      }).pipe(Effect.provide(s.layer))
    }), 30_000)

  it.scoped("a stream moves to the other key before its first byte, on the model asked for", () =>
    Effect.gen(function* () {
      const s = yield* twoKeys
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        yield* s.openai.script(refusedFor(60))
        const meta = yield* endsWithClockStill(
          Effect.flatMap(gateway.stream(ask("first", "gpt-4o-mini", { stream: true }), defaultRequirements), (answer) =>
            Effect.as(Stream.runDrain(answer.chunks), answer.meta)),
          "the stream after its 429"
        )
        assert.deepStrictEqual([meta.model, meta.failovers], ["gpt-4o-mini", 0])
        assert.deepStrictEqual(chatKeys(yield* s.openai.requests), [keyA, keyB])
        assert.strictEqual(anthropicCalls(yield* s.anthropic.requests), 0)
      }).pipe(Effect.provide(s.layer))
    }), 30_000)

  it.scoped("insufficient_quota on one key: the call moves to the other key", () =>
    Effect.gen(function* () {
      const s = yield* twoKeys
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        yield* s.openai.script(FakeOpenAi.faults.insufficientQuota)
        const answer = yield* endsWithClockStill(gateway.complete(ask("first"), defaultRequirements), "the call after its 429")
        assert.strictEqual(answer.meta.model, "gpt-4o-mini")
        assert.deepStrictEqual(chatKeys(yield* s.openai.requests), [keyA, keyB])
        assert.strictEqual(anthropicCalls(yield* s.anthropic.requests), 0)
      }).pipe(Effect.provide(s.layer))
    }), 30_000)
})
