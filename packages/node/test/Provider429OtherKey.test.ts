/**
 * A provider's 429 with a short `retry-after` (within
 * `providers.<name>.maxRetryWaitMs`) on one key, while another key of the
 * provider has room: the call moves to that key at once (each key has limits
 * of its own) instead of waiting out the hint on the refused key. It waits
 * on its key only when no other key is usable (here: the other key refused
 * too). Before the fix the call always waited out the hint on the same key.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect, Fiber, Stream, TestClock } from "effect"
import { ask, endsWithClockStill, noonUtc, poll, stack } from "./fixture.js"

const keyA = "sk-test-openai"
const keyB = "sk-test-openai-second"

/** OpenAI's 429 for a key over its requests limit, with `retry-after: <seconds>`. */
const limited = (seconds: number) =>
  Fault.status(429, {
    body: { error: { message: "Rate limit reached for requests", type: "requests", code: "rate_limit_exceeded", param: null } },
    headers: { "retry-after": String(seconds) }
  })

const chatKeys = (requests: ReadonlyArray<{ readonly path: string; readonly headers: Readonly<Record<string, string>> }>) =>
  requests.filter((r) => r.path.endsWith("/chat/completions")).map((r) => r.headers["authorization"]?.slice("Bearer ".length))

/** A stack with two OpenAI keys whose adapter retries (`maxRetries: 2`), no cache, no failover waits. */
const twoKeys = Effect.gen(function* () {
  yield* TestClock.setTime(noonUtc)
  const s = yield* stack({
    openAiApiKeys: [keyA, keyB],
    gateway: { cache: { enabled: false }, failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0 } }
  })
  const file = path.join(s.dir, "gateway.json")
  const config = JSON.parse(fs.readFileSync(file, "utf8"))
  config.providers.openai.maxRetries = 2
  fs.writeFileSync(file, JSON.stringify(config))
  return s
})

describe("Provider 429 on one key while another key has room", () => {
  it.scoped("a complete call moves to the other key at once, on the same model", () =>
    Effect.gen(function* () {
      const s = yield* twoKeys
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        yield* s.openai.script(limited(3))
        const answer = yield* endsWithClockStill(gateway.complete(ask("first"), defaultRequirements), "the call after its 429", 5_000)
        assert.deepStrictEqual([answer.meta.model, answer.meta.failovers], ["gpt-4o-mini", 0])
        assert.deepStrictEqual(chatKeys(yield* s.openai.requests), [keyA, keyB])
        // The refused key stays refused until its hint has passed: the next request goes on the other key too.
        const next = yield* endsWithClockStill(gateway.complete(ask("second"), defaultRequirements), "the next request")
        assert.strictEqual(next.meta.model, "gpt-4o-mini")
        assert.deepStrictEqual(chatKeys(yield* s.openai.requests), [keyA, keyB, keyB])
      }).pipe(Effect.provide(s.layer))
    }), 30_000)

  it.scoped("a stream moves to the other key at once, on the same model", () =>
    Effect.gen(function* () {
      const s = yield* twoKeys
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        yield* s.openai.script(limited(3))
        const meta = yield* endsWithClockStill(
          Effect.flatMap(gateway.stream(ask("first", "gpt-4o-mini", { stream: true }), defaultRequirements), (answer) =>
            Effect.as(Stream.runDrain(answer.chunks), answer.meta)),
          "the stream after its 429",
          5_000
        )
        assert.deepStrictEqual([meta.model, meta.failovers], ["gpt-4o-mini", 0])
        assert.deepStrictEqual(chatKeys(yield* s.openai.requests), [keyA, keyB])
      }).pipe(Effect.provide(s.layer))
    }), 30_000)

  it.scoped("the other key refused too: the call waits out its retry-after on its own key", () =>
    Effect.gen(function* () {
      const s = yield* twoKeys
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        // Key A refused for 30 s (longer than maxRetryWaitMs: that request moves to key B at once, see
        // Provider429LongHintOtherKey.test.ts).
        yield* s.openai.script(limited(30))
        const first = yield* endsWithClockStill(gateway.complete(ask("first"), defaultRequirements), "the first request")
        assert.strictEqual(first.meta.model, "gpt-4o-mini")
        // Key B's 429 for 3 s: no other key is usable, the call waits it out on key B.
        yield* s.openai.script(limited(3))
        const second = yield* Effect.fork(gateway.complete(ask("second"), defaultRequirements))
        yield* poll(Effect.map(s.openai.requests, (r) => chatKeys(r).length), (n) => n === 3, 5_000, "the second call's 429")
        yield* TestClock.adjust("3 seconds")
        const answer = yield* Fiber.join(second)
        assert.deepStrictEqual([answer.meta.model, answer.meta.failovers], ["gpt-4o-mini", 0])
        assert.deepStrictEqual(chatKeys(yield* s.openai.requests), [keyA, keyB, keyB, keyB])
      }).pipe(Effect.provide(s.layer))
    }), 30_000)
})
