/**
 * A 400 that says the model (not the request) is what cannot serve ("does
 * not support image input", "Unsupported parameter: 'temperature'", an
 * Ollama model without tools) is a `BadRequest` with `modelRefused`: the
 * run moves to the next candidate, which may have what this one lacks, and
 * answers the client's error only when every candidate tried refused. A
 * plain BadRequest (a malformed message) still ends the run at once.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ModelMetadata } from "@modelgate/domain/Model"
import { BadRequest, ContextLengthExceeded, RateLimited } from "@modelgate/domain/ProviderError"
import { Effect, Ref } from "effect"
import type { AttemptError } from "../src/Failover.js"
import { model, setupFailover } from "./RoutingFixtures.js"

const a = model("a")
const b = model("b")

const refusal = (m: string) =>
  new BadRequest({ provider: "openai", model: m, status: 400, detail: "model does not support image input", modelRefused: true })

const scripted = (script: Record<string, AttemptError>) =>
  Effect.gen(function*() {
    const calls = yield* Ref.make<ReadonlyArray<string>>([])
    const attempt = (m: ModelMetadata): Effect.Effect<string, AttemptError> =>
      Effect.zipRight(
        Ref.update(calls, (c) => [...c, m.id]),
        script[m.id] === undefined ? Effect.succeed(`answer from ${m.id}`) : Effect.fail(script[m.id]!)
      )
    return { attempt, calls: Ref.get(calls) }
  })

const noBackoff = { failover: { backoffBaseMs: 0, backoffCapMs: 0 } }

describe("Failover: a model that refuses what the request needs", () => {
  it.effect("moves on to a candidate that can serve it", () =>
    Effect.gen(function*() {
      const { failover } = yield* setupFailover(noBackoff)
      const { attempt, calls } = yield* scripted({ a: refusal("a") })
      const out = yield* failover.run([a, b], attempt)
      assert.strictEqual(out.value, "answer from b")
      assert.deepStrictEqual(yield* calls, ["a", "b"])
    }))

  it.effect("answers the client's error when every candidate tried refused", () =>
    Effect.gen(function*() {
      const { failover } = yield* setupFailover(noBackoff)
      const { attempt } = yield* scripted({ a: refusal("a"), b: refusal("b") })
      const failed = yield* Effect.flip(failover.run([a, b], attempt))
      assert.strictEqual(failed._tag, "BadRequest", "a client error (400), not an outage")
    }))

  it.effect("a refusal and a context overflow are both the request's: its client error", () =>
    Effect.gen(function*() {
      const { failover } = yield* setupFailover(noBackoff)
      const overflow = new ContextLengthExceeded({ provider: "openai", model: "a", detail: "too long" })
      const { attempt } = yield* scripted({ a: overflow, b: refusal("b") })
      const failed = yield* Effect.flip(failover.run([model("a", { contextWindow: 8_000 }), model("b", { contextWindow: 16_000 })], attempt))
      assert.include(["ContextLengthExceeded", "BadRequest"], failed._tag, "a client error (400), not an outage")
    }))

  it.effect("a refusal then a rate limit: the candidates failed (the limited one may serve later)", () =>
    Effect.gen(function*() {
      const { failover } = yield* setupFailover(noBackoff)
      const { attempt } = yield* scripted({ a: refusal("a"), b: new RateLimited({ provider: "openai", model: "b", detail: "slow down", retryAfterMs: 1_000 }) })
      const failed = yield* Effect.flip(failover.run([a, b], attempt))
      assert.strictEqual(failed._tag, "AllCandidatesFailed")
    }))

  it.effect("a plain BadRequest (the request is malformed) still ends the run", () =>
    Effect.gen(function*() {
      const { failover } = yield* setupFailover(noBackoff)
      const { attempt, calls } = yield* scripted({ a: new BadRequest({ provider: "openai", model: "a", detail: "messages: Field required" }) })
      const failed = yield* Effect.flip(failover.run([a, b], attempt))
      assert.strictEqual(failed._tag, "BadRequest")
      assert.deepStrictEqual(yield* calls, ["a"])
    }))
})
