/**
 * Scenario: a model of the registry names a `providerModel` the OpenAI
 * account does not have (retired, a typo, a project without access). OpenAI
 * answers 404 `model_not_found` ("The model `x` does not exist or you do not
 * have access to it."): the operator's registry, not the client's request
 * (the client never named that provider model). The request goes to the
 * fallback at once (not a 400 to the client, not retried), as for an
 * Ollama model that was never pulled. A project key without access to one
 * model gets a 403 with the same code ("Project `proj_x` does not have
 * access to model `gpt-4o`"): that model fails over, and the key stays in
 * use for the provider's other models (it is not refused as a bad key).
 *
 * The probe at start (`/v1/models`, which costs no tokens) takes such a
 * model out at once when the account's list does not have it.
 *
 * The fakes answer over real sockets; the probe scenario runs on `TestClock`.
 */
import { assert, describe, it } from "@effect/vitest"
import { ApiKeys } from "@modelgate/core/ApiKeys"
import { Gateway } from "@modelgate/core/Gateway"
import { HealthChecker } from "@modelgate/core/HealthChecker"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect } from "effect"
import { ask, endsWithClockStill, models, poll, stack } from "./fixture.js"

/** The registry of `models`, gpt-4o-mini naming a model the fake OpenAI does not serve. */
const withRetiredModel = () => {
  const base = models()
  return { ...base, models: base.models.map((m) => (m.id === "gpt-4o-mini" ? { ...m, providerModel: "gpt-4.5-preview" } : m)) }
}

describe("Scenario: an OpenAI model the account does not have", () => {
  it.scopedLive("a request fails over to the fallback at once (no 400, no retry)", () =>
    Effect.gen(function* () {
      const s = yield* stack({ models: withRetiredModel() })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const answer = yield* gateway.complete(ask("hello"), defaultRequirements)
        assert.strictEqual(answer.meta.model, "claude-haiku")
        assert.strictEqual(answer.meta.failovers, 1)
        const chats = (yield* s.openai.requests).filter((r) => r.path.endsWith("/chat/completions"))
        assert.lengthOf(chats, 1)
      }).pipe(Effect.provide(s.layer))
    }))

  it.scopedLive("a project without access to the model (403 model_not_found): fails over, the key is not set aside", () =>
    Effect.gen(function* () {
      const s = yield* stack()
      yield* s.openai.script(Fault.status(403, {
        body: {
          error: {
            message: "Project `proj_abc123` does not have access to model `gpt-4o-mini`",
            type: "invalid_request_error",
            param: null,
            code: "model_not_found"
          }
        }
      }))
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const answer = yield* gateway.complete(ask("hello"), defaultRequirements)
        assert.strictEqual(answer.meta.model, "claude-haiku")
        assert.strictEqual(answer.meta.failovers, 1)
        const openai = (yield* (yield* ApiKeys).status).find((k) => k.provider === "openai")
        assert.deepStrictEqual(openai?.setAside, [])
        assert.strictEqual(openai?.usable, 1)
      }).pipe(Effect.provide(s.layer))
    }))

  it.scoped("the probe at start takes it out, naming the provider model", () =>
    Effect.gen(function* () {
      const s = yield* stack({ models: withRetiredModel(), gateway: { healthCheck: { intervalMs: 60_000, failureThreshold: 3 } } })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const health = yield* HealthChecker
        const down = yield* poll(health.status("gpt-4o-mini"), (h) => h.status === "unavailable", 5_000, "the probe at start")
        assert.include(down.reason, "gpt-4.5-preview")
        const answer = yield* endsWithClockStill(gateway.complete(ask("hello"), defaultRequirements), "the request to gpt-4o-mini")
        assert.strictEqual(answer.meta.model, "claude-haiku")
        assert.lengthOf((yield* s.openai.requests).filter((r) => r.path.endsWith("/chat/completions")), 0)
      }).pipe(Effect.provide(s.layer))
    }))
})
