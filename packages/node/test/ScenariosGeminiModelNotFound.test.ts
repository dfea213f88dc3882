/**
 * Scenario: a Gemini model of the registry that the API does not serve (a
 * retired model such as `gemini-1.5-pro`, a misspelt id, a preview the
 * project has no access to). Gemini answers generateContent with a 404
 * NOT_FOUND ("models/x is not found for API version v1beta, or is not
 * supported for generateContent"): the operator's registry, not the
 * client's request. The request goes to the fallback (not a 400 to the
 * client, not retried), and the probe at start (`GET /v1beta/models/x`,
 * which spends nothing) takes the model out at once.
 *
 * The fakes answer over real sockets; the probe scenario runs on `TestClock`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { HealthChecker } from "@modelgate/core/HealthChecker"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import * as FakeGoogle from "@modelgate/testkit/FakeGoogle"
import { Effect } from "effect"
import { ask, endsWithClockStill, models, poll, stack } from "./fixture.js"

/** The models of `models`, plus `gemini`: a retired Gemini model that falls back to gpt-4o-mini. */
const withRetiredGemini = () => {
  const base = models().models
  const gemini = {
    ...base[0]!,
    id: "gemini",
    provider: "google",
    providerModel: "gemini-1.5-pro",
    displayName: "Gemini 1.5 Pro",
    fallbacks: ["gpt-4o-mini"]
  }
  return { source: "test registry", models: [...base, gemini] }
}

describe("Scenario: a Gemini model the API does not serve", () => {
  it.scopedLive("a request fails over to the fallback at once (no 400, no retry)", () =>
    Effect.gen(function* () {
      const google = yield* FakeGoogle.make({ models: ["gemini-2.5-flash"] })
      const s = yield* stack({ models: withRetiredGemini(), env: { GEMINI_BASE_URL: google.baseUrl, GEMINI_API_KEY: google.apiKey } })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const answer = yield* gateway.complete(ask("hello", "gemini"), defaultRequirements)
        assert.strictEqual(answer.meta.model, "gpt-4o-mini")
        assert.strictEqual(answer.meta.failovers, 1)
        assert.lengthOf(yield* google.requests, 1)
      }).pipe(Effect.provide(s.layer))
    }))

  it.scoped("the probe at start takes it out", () =>
    Effect.gen(function* () {
      const google = yield* FakeGoogle.make({ models: ["gemini-2.5-flash"] })
      const s = yield* stack({
        models: withRetiredGemini(),
        gateway: { healthCheck: { intervalMs: 60_000, failureThreshold: 3 } },
        env: { GEMINI_BASE_URL: google.baseUrl, GEMINI_API_KEY: google.apiKey }
      })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const health = yield* HealthChecker
        const down = yield* poll(health.status("gemini"), (h) => h.status === "unavailable", 5_000, "the probe at start")
        assert.include(down.reason, "models/gemini-1.5-pro is not found")
        const answer = yield* endsWithClockStill(gateway.complete(ask("hello", "gemini"), defaultRequirements), "the request to gemini")
        assert.strictEqual(answer.meta.model, "gpt-4o-mini")
        const generated = (yield* google.requests).filter((r) => r.path.includes(":generateContent"))
        assert.lengthOf(generated, 0)
      }).pipe(Effect.provide(s.layer))
    }))
})
