/**
 * With two OpenAI keys, a 429 on one key (remaining 0 for 30 s) must
 * not take the model away from requests that can run on the other key:
 * neither from the request it refused (it moves to the other key, the
 * hint being longer than `maxRetryWaitMs` or not), nor from those after
 * it. This test used to pin the refused request failing over to
 * claude-haiku: the client asked for gpt-4o-mini and got another model
 * while the other key had room for it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import * as FakeOpenAi from "@modelgate/testkit/FakeOpenAi"
import { Effect, TestClock } from "effect"
import { ask, noonUtc, stack } from "./fixture.js"

const keyA = "sk-test-openai"
const keyB = "sk-test-openai-second"

const twoKeyStack = stack({
  openAiApiKeys: [keyA, keyB],
  gateway: { cache: { enabled: false }, failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0 } }
})

const chatKeys = (requests: ReadonlyArray<{ readonly path: string; readonly headers: Readonly<Record<string, string>> }>) =>
  requests.filter((r) => r.path.endsWith("/chat/completions")).map((r) => r.headers["authorization"]?.slice("Bearer ".length))

describe("Key rotation after a per-key 429", () => {
  it.scoped("requests keep running on the model with the key that is not limited", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(noonUtc)
      const s = yield* twoKeyStack
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        yield* s.openai.script(FakeOpenAi.faults.rateLimited(30))
        // first request: key A answers 429 (remaining 0 for 30 s), the call moves to key B
        const first = yield* gateway.complete(ask("first"), defaultRequirements)
        assert.deepStrictEqual([first.meta.model, first.meta.failovers], ["gpt-4o-mini", 0])
        assert.deepStrictEqual(chatKeys(yield* s.openai.requests), [keyA, keyB])

        const served: Array<string> = []
        for (let i = 0; i < 6; i++) {
          const answer = yield* gateway.complete(ask(`next ${i}`), defaultRequirements)
          served.push(answer.meta.model)
        }
        // key B has room: every request should stay on gpt-4o-mini, none sent with key A
        assert.deepStrictEqual(served, Array(6).fill("gpt-4o-mini"))
        assert.deepStrictEqual(chatKeys(yield* s.openai.requests).slice(2), Array(6).fill(keyB))
        assert.strictEqual((yield* s.anthropic.requests).filter((r) => r.path.includes("messages")).length, 0)
      }).pipe(Effect.provide(s.layer))
    }), 30_000)
})
