/**
 * Scenario: a local model whose registry entry maps reasoning efforts, but
 * the model Ollama has under its name does not think (a non-thinking build
 * pulled under that name, an entry copied from another). Ollama answers
 * `think` with a 400 `"llama3.1:8b" does not support thinking`: this model's
 * limit, not a malformed request. The request goes to the named model's
 * fallback, which thinks, instead of a 400 to the client; when every
 * candidate refuses, the client gets the 400.
 *
 * The fakes answer over real sockets.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import * as FakeOllama from "@modelgate/testkit/FakeOllama"
import { Effect } from "effect"
import { ask, models, stack } from "./fixture.js"

/** `llama` (thinks, says its entry; not so on the server) falling back to `thinker`; `thinker` on `thinkerModel`. */
const registry = (thinkerModel: string) => {
  const base = models().models
  const local = (id: string, providerModel: string, fallbacks: ReadonlyArray<string>) => ({
    ...base[0]!,
    id,
    provider: "ollama",
    providerModel,
    displayName: id,
    pricing: { inputPerMillion: 0, outputPerMillion: 0 },
    reasoningEfforts: { high: true },
    fallbacks
  })
  return { source: "test registry", models: [...base, local("llama", "llama3.1:8b", ["thinker"]), local("thinker", thinkerModel, [])] }
}

describe("Scenario: a named model that cannot take what the request asks", () => {
  it.scopedLive("fails over to its fallback that can (no 400 to the client)", () =>
    Effect.gen(function* () {
      const ollama = yield* FakeOllama.make({ models: ["llama3.1:8b", "qwen3:8b"] })
      const s = yield* stack({ models: registry("qwen3:8b"), env: { OLLAMA_HOST: ollama.url } })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const answer = yield* gateway.complete(ask("hello", "llama", { reasoning_effort: "high" }), defaultRequirements)
        assert.strictEqual(answer.meta.model, "thinker")
        assert.strictEqual(answer.meta.failovers, 1)
      }).pipe(Effect.provide(s.layer))
    }))

  it.scopedLive("answers the provider's 400 when every candidate refuses it", () =>
    Effect.gen(function* () {
      const ollama = yield* FakeOllama.make({ models: ["llama3.1:8b", "gemma3:4b"] })
      const s = yield* stack({ models: registry("gemma3:4b"), env: { OLLAMA_HOST: ollama.url } })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const error = yield* Effect.flip(gateway.complete(ask("hello", "llama", { reasoning_effort: "high" }), defaultRequirements))
        assert.strictEqual(error._tag, "BadRequest", error.message)
        assert.include(error.message, "does not support thinking")
      }).pipe(Effect.provide(s.layer))
    }))
})
