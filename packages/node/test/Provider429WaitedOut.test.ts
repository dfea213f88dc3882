/**
 * A provider's 429 with a short `retry-after` (within
 * `providers.<name>.maxRetryWaitMs`) is waited out by the adapter, which then
 * retries the call on the same key when no other key of the provider has
 * room (with one that has, the call moves there at once: see
 * Provider429OtherKey.test.ts). Meanwhile the key is refused: no other
 * request may be sent on it before the hint has passed. They go on the
 * provider's other key, or (its only key refused) to the fallback model,
 * instead of piling 429s onto the refused key and waiting as well.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect, Fiber, Stream, TestClock } from "effect"
import { ask, endsWithClockStill, noonUtc, poll, stack, type StackOptions } from "./fixture.js"

const keyA = "sk-test-openai"
const keyB = "sk-test-openai-second"

const rateLimitBody = { error: { message: "Rate limit reached for requests", type: "requests", code: "rate_limit_exceeded", param: null } }

const chatKeys = (requests: ReadonlyArray<{ readonly path: string; readonly headers: Readonly<Record<string, string>> }>) =>
  requests.filter((r) => r.path.endsWith("/chat/completions")).map((r) => r.headers["authorization"]?.slice("Bearer ".length))

/**
 * On a stack whose OpenAI adapter retries (`maxRetries: 2`, the default), the
 * first request (`streamed`, or complete) gets a 429 with `retry-after: 3`; while the adapter waits it
 * out (or once it moved to another key), two more requests run, one after the other. Gives the model each was
 * served by and the keys OpenAI saw, before and after the 3 s.
 */
const secondWhileFirstWaits = (options: StackOptions, streamed = false) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(noonUtc)
    const s = yield* stack({ ...options, gateway: { cache: { enabled: false }, failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0 } } })
    const file = path.join(s.dir, "gateway.json")
    const config = JSON.parse(fs.readFileSync(file, "utf8"))
    config.providers.openai.maxRetries = 2
    fs.writeFileSync(file, JSON.stringify(config))
    return yield* Effect.gen(function* () {
      const gateway = yield* Gateway
      yield* s.openai.script(Fault.status(429, { body: rateLimitBody, headers: { "retry-after": "3" } }))
      const first = yield* Effect.fork(
        streamed
          ? Effect.flatMap(gateway.stream(ask("first", "gpt-4o-mini", { stream: true }), defaultRequirements), (answer) =>
            Effect.as(Stream.runDrain(answer.chunks), answer.meta))
          : Effect.map(gateway.complete(ask("first"), defaultRequirements), (answer) => answer.meta)
      )
      yield* poll(Effect.map(s.openai.requests, (r) => chatKeys(r).length), (n) => n >= 1, 5_000, "the first call's 429")
      yield* TestClock.adjust("1 second")
      const second = yield* endsWithClockStill(gateway.complete(ask("second"), defaultRequirements), "the second request")
      const third = yield* endsWithClockStill(gateway.complete(ask("third"), defaultRequirements), "the third request")
      const keysDuring = chatKeys(yield* s.openai.requests)
      yield* TestClock.adjust("3 seconds")
      return { first: yield* Fiber.join(first), second: second.meta, third: third.meta, keysDuring, keysAfter: chatKeys(yield* s.openai.requests) }
    }).pipe(Effect.provide(s.layer))
  })

describe("Provider 429 waited out by the adapter", () => {
  it.scoped("its only key refused: the next requests go to the fallback until retry-after, the waiting call then retries on the key", () =>
    Effect.gen(function* () {
      const { first, keysAfter, keysDuring, second, third } = yield* secondWhileFirstWaits({})
      assert.deepStrictEqual(keysDuring, [keyA], "a request was sent on the key within its retry-after")
      assert.deepStrictEqual([second.model, second.failovers, third.model, third.failovers], ["claude-haiku", 0, "claude-haiku", 0])
      assert.strictEqual(first.model, "gpt-4o-mini")
      assert.deepStrictEqual(keysAfter, [keyA, keyA])
    }), 20_000)

  it.scoped("one of two keys refused: the call moves to the other key at once, the next requests go on it until retry-after", () =>
    Effect.gen(function* () {
      const { first, keysAfter, keysDuring, second, third } = yield* secondWhileFirstWaits({ openAiApiKeys: [keyA, keyB] })
      assert.deepStrictEqual(keysDuring, [keyA, keyB, keyB, keyB], "a request was sent on the refused key within its retry-after")
      assert.deepStrictEqual([second.model, third.model], ["gpt-4o-mini", "gpt-4o-mini"])
      assert.deepStrictEqual([first.model, first.failovers], ["gpt-4o-mini", 0])
      // Nothing waited out the hint on the refused key.
      assert.deepStrictEqual(keysAfter, [keyA, keyB, keyB, keyB])
    }), 30_000)

  it.scoped("a stream waiting out its 429: the next requests go to the fallback until retry-after", () =>
    Effect.gen(function* () {
      const { first, keysAfter, keysDuring, second, third } = yield* secondWhileFirstWaits({}, true)
      assert.deepStrictEqual(keysDuring, [keyA], "a request was sent on the key within its retry-after")
      assert.deepStrictEqual([second.model, third.model], ["claude-haiku", "claude-haiku"])
      assert.strictEqual(first.model, "gpt-4o-mini")
      assert.deepStrictEqual(keysAfter, [keyA, keyA])
    }), 20_000)
})
