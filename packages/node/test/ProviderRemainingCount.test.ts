/**
 * The provider's rate-limit headers say how many requests are left on the
 * key. When that is less than the gateway's own window would admit (the
 * key's limit is shared with other clients, or the configured rpm is higher
 * than the provider's), a burst must not send more than the provider said is
 * left: the rest wait or are refused here, not by the provider's 429s.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect, Exit, TestClock } from "effect"
import { ask, models, noonUtc, stack } from "./fixture.js"

const messageCalls = (requests: ReadonlyArray<{ readonly path: string }>) => requests.filter((r) => r.path.startsWith("/v1/messages")).length

/** claude-haiku configured at 1000 rpm, on a key whose provider limit is `requests` a minute; the gateway on it, and the fakes. */
const onStack = <A, E>(requests: number, body: (s: Effect.Effect.Success<ReturnType<typeof stack>>) => Effect.Effect<A, E, Gateway>) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(noonUtc)
    const base = models()
    const s = yield* stack({
      models: { ...base, models: base.models.map((m) => (m.id === "claude-haiku" ? { ...m, rateLimits: { rpm: 1000, tpm: 10_000_000 } } : m)) },
      anthropic: { limits: { requests, tokens: 10_000_000 }, now: () => noonUtc },
      gateway: { cache: { enabled: false }, failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0 } }
    })
    return yield* body(s).pipe(Effect.provide(s.layer))
  })

describe("Provider remaining counts", () => {
  it.scoped("64 requests at once on a key the provider says has 1 request left: 1 is sent; after the reset, the key is used again", () =>
    onStack(20, (s) =>
      Effect.gen(function* () {
        const gateway = yield* Gateway
        for (let i = 0; i < 19; i++) yield* gateway.complete(ask(`warm ${i}`, "claude-haiku"), defaultRequirements)
        assert.strictEqual(messageCalls(yield* s.anthropic.requests), 19)
        // the last answer said: 1 request left, reset in 60 s
        const burst = yield* Effect.forEach(
          Array.from({ length: 64 }, (_, i) => i),
          (i) => Effect.either(gateway.complete(ask(`burst ${i}`, "claude-haiku"), defaultRequirements)),
          { concurrency: "unbounded" }
        )
        assert.strictEqual(messageCalls(yield* s.anthropic.requests), 20, "more requests sent than the provider said were left")
        assert.strictEqual(burst.filter((r) => r._tag === "Right").length, 1)
        // after the reset the key is used again
        yield* TestClock.adjust("60 seconds")
        yield* gateway.complete(ask("after", "claude-haiku"), defaultRequirements)
        assert.strictEqual(messageCalls(yield* s.anthropic.requests), 21)
      })), 30_000)

  it.scoped("a stream opened with 0 requests left on the key: nothing more is sent on it while that stream still runs", () =>
    onStack(2, (s) =>
      Effect.gen(function* () {
        const gateway = yield* Gateway
        yield* gateway.complete(ask("first", "claude-haiku"), defaultRequirements)
        // the second call is a stream whose answer opens with "0 requests left, reset in 60 s", then runs on
        yield* s.anthropic.script(Fault.delay({ chunkMs: 1_000 }))
        const answer = yield* gateway.stream(ask("a long story", "claude-haiku", { stream: true }), defaultRequirements)
        const pull = answer.open!()
        yield* pull.pull
        assert.strictEqual(messageCalls(yield* s.anthropic.requests), 2)
        const third = yield* Effect.either(gateway.complete(ask("third", "claude-haiku"), defaultRequirements))
        assert.strictEqual(messageCalls(yield* s.anthropic.requests), 2, "sent on a key the provider said had nothing left")
        assert.strictEqual(third._tag, "Left")
        yield* pull.close(Exit.void)
      })), 30_000)
})
