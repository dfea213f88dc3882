/**
 * Scenario: a request bound to an allowlist of models (a virtual key's
 * `models`). `auto` picks among them only, failover never leaves them, a
 * request naming another model is refused with `ModelNotAllowed`, and a cached
 * answer of a model outside the list is not served to it.
 *
 * The fakes answer over real sockets (live clock).
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { defaultRequirements, type TaskRequirements } from "@modelgate/domain/Requirements"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect, Either } from "effect"
import { ask, stack } from "./fixture.js"

const only = (...allowedModels: Array<string>): TaskRequirements => ({ ...defaultRequirements, allowedModels })
const chatCalls = (requests: ReadonlyArray<{ readonly path: string }>) => requests.filter((r) => r.path.endsWith("/messages") || r.path.endsWith("/chat/completions")).length

describe("Scenario: a request limited to some models", () => {
  it.scopedLive("auto picks among them, failover stays inside them, another model is refused, another model's cached answer is a miss", () =>
    Effect.gen(function* () {
      const s = yield* stack({ gateway: { cache: { enabled: true, cacheNonDeterministic: true } } })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway

        // auto: gpt-4o-mini ranks first for everyone else, claude-haiku is the only one allowed here
        const free = yield* gateway.complete(ask("rank for me", "auto"), defaultRequirements)
        assert.strictEqual(free.meta.model, "gpt-4o-mini")
        const limited = yield* gateway.complete(ask("rank for me", "auto"), only("claude-haiku"))
        assert.strictEqual(limited.meta.model, "claude-haiku")
        assert.isFalse(limited.meta.cacheHit, "the unrestricted auto answer is not replayed")

        // a model outside the list, named: refused before any call
        const before = chatCalls(yield* s.openai.requests)
        const refused = yield* Effect.either(gateway.complete(ask("gpt please", "gpt-4o-mini"), only("claude-haiku")))
        assert.isTrue(Either.isLeft(refused) && refused.left._tag === "ModelNotAllowed")
        if (Either.isLeft(refused)) assert.include(refused.left.message, "gpt-4o-mini")
        assert.strictEqual(chatCalls(yield* s.openai.requests), before)

        // failover never leaves the list: gpt-4o-mini fails, its fallback claude-haiku is not allowed
        yield* s.openai.persist(Fault.status(500))
        const anthropicBefore = chatCalls(yield* s.anthropic.requests)
        const failed = yield* Effect.either(gateway.complete(ask("no way out", "gpt-4o-mini"), only("gpt-4o-mini")))
        assert.isTrue(Either.isLeft(failed))
        assert.strictEqual(chatCalls(yield* s.anthropic.requests), anthropicBefore)

        // without the list, the same request fails over to claude-haiku, and that answer is cached under gpt-4o-mini's key
        const fellBack = yield* gateway.complete(ask("cached by the fallback", "gpt-4o-mini"), defaultRequirements)
        assert.strictEqual(fellBack.meta.model, "claude-haiku")
        yield* s.openai.persist(undefined)
        // a request limited to gpt-4o-mini does not get claude-haiku's cached answer: it calls gpt-4o-mini
        const own = yield* gateway.complete(ask("cached by the fallback", "gpt-4o-mini"), only("gpt-4o-mini"))
        assert.strictEqual(own.meta.model, "gpt-4o-mini")
        assert.isFalse(own.meta.cacheHit)
      }).pipe(Effect.provide(s.layer))
    }))
})
