/**
 * Scenario: a request's `reasoning_effort` is served only by a model that
 * takes that effort (its registry entry's `reasoningEfforts`, or an OpenAI
 * reasoning model without one), and reaches it as the provider's own field.
 * `auto` ranks without the others, failover skips them, and a named model
 * that would drop the effort (or answer it with a 400, as OpenAI does on a
 * model that does not reason) is refused before any call.
 *
 * The fakes answer over real sockets (live clock).
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { defaultRequirements, type TaskRequirements } from "@modelgate/domain/Requirements"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect, Either } from "effect"
import { ask, models, stack } from "./fixture.js"

const only = (...allowedModels: Array<string>): TaskRequirements => ({ ...defaultRequirements, allowedModels })
const chatBodies = (requests: ReadonlyArray<{ readonly path: string; readonly json: unknown }>) =>
  requests.filter((r) => r.path.endsWith("/messages") || r.path.endsWith("/chat/completions")).map((r) => r.json as Record<string, unknown>)

const registry = () => {
  const base = models()
  const [mini, haiku] = base.models
  return {
    ...base,
    models: [
      mini!,
      haiku!,
      {
        ...mini!,
        id: "o4-mini",
        providerModel: "o4-mini",
        capabilities: ["chat", "reasoning"],
        pricing: { inputPerMillion: 1.1, outputPerMillion: 4.4 },
        fallbacks: ["claude-haiku", "claude-opus"],
        reasoningEfforts: { low: "low", high: "high" }
      },
      {
        ...haiku!,
        id: "claude-opus",
        providerModel: "claude-opus-4-5",
        capabilities: ["chat", "reasoning"],
        pricing: { inputPerMillion: 5, outputPerMillion: 25 },
        reasoningEfforts: { low: "low", medium: "medium", high: "high" }
      }
    ]
  }
}

describe("Scenario: reasoning_effort", () => {
  it.scopedLive("goes only to a model that takes the effort, as its provider's own field; the others are refused before any call", () =>
    Effect.gen(function* () {
      const s = yield* stack({ models: registry() })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway

        // auto: only Claude Opus maps "medium"; it gets it as output_config.effort
        const medium = yield* gateway.complete(ask("think a little", "auto", { reasoning_effort: "medium" }), defaultRequirements)
        assert.strictEqual(medium.meta.model, "claude-opus")
        assert.deepStrictEqual(chatBodies(yield* s.anthropic.requests).at(-1)?.["output_config"], { effort: "medium" })

        // named o4-mini: the effort as OpenAI names it
        const low = yield* gateway.complete(ask("think briefly", "o4-mini", { reasoning_effort: "low" }), defaultRequirements)
        assert.strictEqual(low.meta.model, "o4-mini")
        assert.strictEqual(chatBodies(yield* s.openai.requests).at(-1)?.["reasoning_effort"], "low")

        // a named model that does not reason: refused naming the field, and OpenAI never called
        const openAiCalls = chatBodies(yield* s.openai.requests).length
        const refused = yield* Effect.either(gateway.complete(ask("think", "gpt-4o-mini", { reasoning_effort: "low" }), defaultRequirements))
        assert.isTrue(Either.isLeft(refused) && refused.left._tag === "UnsupportedParameter")
        if (Either.isLeft(refused) && refused.left._tag === "UnsupportedParameter") {
          assert.strictEqual(refused.left.param, "reasoning_effort")
          assert.include(refused.left.message, "gpt-4o-mini on openai takes no reasoning effort")
        }
        // an effort the named model does not map: refused, naming the efforts it takes
        const unmapped = yield* Effect.either(gateway.complete(ask("think", "o4-mini", { reasoning_effort: "medium" }), defaultRequirements))
        assert.isTrue(Either.isLeft(unmapped) && unmapped.left._tag === "UnsupportedParameter")
        if (Either.isLeft(unmapped)) assert.include(unmapped.left.message, "o4-mini takes reasoning_effort \"low\", \"high\" (\"medium\" asked)")
        assert.strictEqual(chatBodies(yield* s.openai.requests).length, openAiCalls)

        // auto among models that take no effort: nothing eligible, ruled out by the request itself (HTTP 400)
        const none = yield* Effect.either(gateway.complete(ask("think", "auto", { reasoning_effort: "low" }), only("gpt-4o-mini", "claude-haiku")))
        assert.isTrue(Either.isLeft(none) && none.left._tag === "NoEligibleModel")
        if (Either.isLeft(none) && none.left._tag === "NoEligibleModel") {
          assert.deepStrictEqual(none.left.exclusions.map((e) => e.kind), ["request", "request", "request", "request"])
          assert.include(none.left.message, "gpt-4o-mini (gpt-4o-mini on openai takes no reasoning effort")
          assert.include(none.left.message, "claude-haiku (claude-haiku on anthropic takes no reasoning effort")
        }

        // failover from o4-mini skips Claude Haiku (no effort) for Claude Opus, which gets the effort
        const haikuCalls = chatBodies(yield* s.anthropic.requests).filter((b) => b["model"] === "claude-haiku-4-5").length
        yield* s.openai.persist(Fault.status(500))
        const failedOver = yield* gateway.complete(ask("think again", "o4-mini", { reasoning_effort: "high" }), defaultRequirements)
        assert.strictEqual(failedOver.meta.model, "claude-opus")
        assert.strictEqual(failedOver.meta.failovers, 1)
        const bodies = chatBodies(yield* s.anthropic.requests)
        assert.deepStrictEqual(bodies.at(-1)?.["output_config"], { effort: "high" })
        assert.strictEqual(bodies.filter((b) => b["model"] === "claude-haiku-4-5").length, haikuCalls)

        // without an effort, every model serves as before
        const plain = yield* gateway.complete(ask("no thinking", "claude-haiku"), defaultRequirements)
        assert.strictEqual(plain.meta.model, "claude-haiku")
        assert.notProperty(chatBodies(yield* s.anthropic.requests).at(-1)!, "output_config")
      }).pipe(Effect.provide(s.layer))
    }))
})
