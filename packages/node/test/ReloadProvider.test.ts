/**
 * A reload that moves a provider (`providers.openai`: baseUrl, maxRetries):
 * the next request goes to the new endpoint with the new retry budget.
 * The retry's backoff sleep on the `TestClock` is found with `awaitSleep`
 * and passed.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import * as FakeOpenAi from "@modelgate/testkit/FakeOpenAi"
import { awaitSleep, Fault } from "@modelgate/testkit/FakeServer"
import * as FakeStackConfig from "@modelgate/testkit/FakeStackConfig"
import { Effect, Fiber, TestClock } from "effect"
import { ask, noonUtc, stack } from "./fixture.js"
import { reload, writeGateway } from "./reloadFixture.js"

const chatCalls = (requests: ReadonlyArray<{ readonly path: string }>) => requests.filter((r) => r.path.endsWith("/chat/completions")).length
const sections = { cache: { enabled: false }, failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0 } }

describe("Reload of a provider's endpoint", () => {
  it.scoped("a new baseUrl and maxRetries hold from the next request on", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(noonUtc)
      const s = yield* stack({ gateway: sections })
      const moved = yield* FakeOpenAi.make({ apiKeys: [FakeStackConfig.openAiApiKey] })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        yield* gateway.complete(ask("to the first endpoint"), defaultRequirements)
        const base = FakeStackConfig.gatewayConfig({ openai: s.openai.baseUrl, anthropic: s.anthropic.baseUrl }, s.db)
        yield* writeGateway(s, { ...sections, providers: { ...base.providers, openai: { baseUrl: moved.baseUrl, maxRetries: 1, timeoutMs: 5_000 } } })
        yield* reload
        yield* moved.script(Fault.status(503))
        const fiber = yield* Effect.fork(gateway.complete(ask("to the moved endpoint"), defaultRequirements))
        // The retry's backoff: 250 ms, jittered (the record writer's 20 ms flush and the 5 s deadline are other sleeps).
        yield* TestClock.adjust(yield* awaitSleep((ms) => ms >= 150 && ms <= 400))
        const answer = yield* Fiber.join(fiber)
        assert.strictEqual(answer.meta.model, "gpt-4o-mini")
        assert.strictEqual(chatCalls(yield* s.openai.requests), 1, "the old endpoint got a request after the reload")
        assert.strictEqual(chatCalls(yield* moved.requests), 2, "a 503 then its one retry at the new endpoint")
      }).pipe(Effect.provide(s.layer))
    }), 30_000)
})
