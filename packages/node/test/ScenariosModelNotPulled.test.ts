/**
 * Scenario: Ollama runs, but a model of the registry was never pulled there
 * (`ollama pull` forgotten, or `ollama rm`). Ollama answers its chat with a
 * 404 `model "x" not found, try pulling it first`: the operator's problem,
 * not the client's request. The request goes to the fallback (not a 400 to
 * the client, not retried), and the probe at start (`/api/tags`, which loads
 * nothing) takes the model out at once, naming the pull to run.
 *
 * The fakes answer over real sockets; the probe scenario runs on `TestClock`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { HealthChecker } from "@modelgate/core/HealthChecker"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import * as FakeOllama from "@modelgate/testkit/FakeOllama"
import { Effect } from "effect"
import { ask, endsWithClockStill, poll, stack, withLocalLlama } from "./fixture.js"

/** How many chats the fake Ollama was sent. */
const chats = (fake: { readonly requests: Effect.Effect<ReadonlyArray<{ readonly path: string }>> }) =>
  Effect.map(fake.requests, (rs) => rs.filter((r) => r.path === "/api/chat").length)

describe("Scenario: a local model that is not pulled", () => {
  it.scopedLive("a request fails over to the fallback at once (no 400, no retry)", () =>
    Effect.gen(function* () {
      const ollama = yield* FakeOllama.make({ models: ["qwen2.5-coder:7b"] })
      const s = yield* stack({ models: withLocalLlama(), env: { OLLAMA_HOST: ollama.url } })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const answer = yield* gateway.complete(ask("hello", "llama"), defaultRequirements)
        assert.strictEqual(answer.meta.model, "gpt-4o-mini")
        assert.strictEqual(answer.meta.failovers, 1)
        assert.strictEqual(yield* chats(ollama), 1)
      }).pipe(Effect.provide(s.layer))
    }))

  it.scoped("the probe at start takes it out, naming the pull to run", () =>
    Effect.gen(function* () {
      const ollama = yield* FakeOllama.make({ models: ["qwen2.5-coder:7b"] })
      const s = yield* stack({
        models: withLocalLlama(),
        gateway: { healthCheck: { intervalMs: 60_000, failureThreshold: 3 } },
        env: { OLLAMA_HOST: ollama.url }
      })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const health = yield* HealthChecker
        const down = yield* poll(health.status("llama"), (h) => h.status === "unavailable", 5_000, "the probe at start")
        assert.include(down.reason, "ollama pull llama3.1:8b")
        const answer = yield* endsWithClockStill(gateway.complete(ask("hello", "llama"), defaultRequirements), "the request to llama")
        assert.strictEqual(answer.meta.model, "gpt-4o-mini")
        assert.strictEqual(yield* chats(ollama), 0)
      }).pipe(Effect.provide(s.layer))
    }))
})
