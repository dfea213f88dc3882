/**
 * A call the provider answers 429 with a short retry hint on one key, while
 * another key of the provider has room, moves to that key at once (same
 * model, no failover): a refusal of its key, as a 429 the adapter waits out
 * on the key is. The request is answered by the model, so the model's
 * figures hold one successful call: the refused try is not a failure of the
 * model (it would lower its success rate, its ranking, and raise degradation
 * alerts, for requests it all answered). Its 429 still counts in the refused
 * key's requests and blocks that key. Should no key admit the call after
 * all, the 429 fails over as before, recorded as the model's failure.
 * Before the fix each move recorded a failed `RateLimited` call of the model.
 */
import { assert, describe, it } from "@effect/vitest"
import type { Usage } from "@modelgate/domain/Chat"
import { RateLimited } from "@modelgate/domain/ProviderError"
import { Effect, Option, TestClock } from "effect"
import { Gateway } from "../src/Gateway.js"
import { ModelRegistry } from "../src/ModelRegistry.js"
import { PerformanceMonitor } from "../src/PerformanceMonitor.js"
import type { Provider } from "../src/Provider.js"
import { RateLimiter } from "../src/RateLimiter.js"
import { ask, costRecords, costStack, performanceRecords, requirements, storyAnswer, untilSome } from "./CostStack.js"
import { model } from "./RoutingFixtures.js"

const usage: Usage = { prompt_tokens: 50, completion_tokens: 20, total_tokens: 70 }

/**
 * An "openai" double whose key 0 answers 429 (retry after 2 s) and tells
 * `onRetry`, as the adapter does before it waits; told "elsewhere", it fails
 * with the 429 at once (after `beforeMoving`). Key 1 answers. `sent` lists the keys of the requests sent.
 */
const provider = (sent: Array<string>, beforeMoving: { run: Effect.Effect<unknown> } = { run: Effect.void }): Provider => ({
  id: "openai",
  requiresKey: true,
  chat: (ctx) =>
    Effect.gen(function* () {
      sent.push(ctx.key?.id ?? "none")
      if (ctx.key?.id === "openai#0") {
        const refused = new RateLimited({ provider: "openai", model: ctx.model.id, status: 429, detail: "scripted", retryAfterMs: 2_000 })
        const choice = ctx.onRetry === undefined ? undefined : yield* ctx.onRetry(refused)
        if (choice === "elsewhere") {
          yield* beforeMoving.run
          return yield* Effect.fail(new RateLimited({ ...refused, attempts: [{ tag: "RateLimited", status: 429, message: refused.message }] }))
        }
        yield* Effect.sleep(2_000)
        sent.push(ctx.key.id)
      }
      return { response: storyAnswer(ctx.model.id, usage), rateLimit: undefined, providerRequestId: undefined }
    }),
  stream: () => Effect.dieMessage("not streamed here"),
  probe: () => Effect.succeed({ ok: true, latencyMs: 0, error: undefined })
})

const models = [model("m", { qualityScore: 0.9, rateLimits: { rpm: 10, tpm: 1_000_000 } })]

describe("a call moved to another key after its key's 429", () => {
  it.effect("is one successful call of the model in its figures, charged once", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(Date.UTC(2026, 0, 15, 12))
      const sent: Array<string> = []
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const answer = yield* gateway.complete(ask("m"), requirements)
        assert.deepStrictEqual([answer.meta.model, answer.meta.failovers], ["m", 0])
        assert.deepStrictEqual(sent, ["openai#0", "openai#1"], "moved to the other key at once")
        assert.deepStrictEqual(yield* performanceRecords, [["m", true, undefined]])
        const figures = yield* (yield* PerformanceMonitor).modelPerformance("m")
        assert.deepStrictEqual(Option.map(figures, (f) => [f.requests, f.successRate, f.errorsByClass]), Option.some([1, 1, {}]))
        assert.strictEqual((yield* costRecords).length, 1, "charged once")
        const m = yield* (yield* ModelRegistry).get("m")
        const limiter = yield* RateLimiter
        // The model's window counts both requests the provider answered (the 429 and the answer).
        const room = (key: string) => Effect.map(limiter.headroom(m, 1, key, true), (h) => [h.requestsUsed, h.fits] as const)
        assert.deepStrictEqual(yield* room("openai#0"), [2, false], "the refused key blocked until its hint")
        assert.deepStrictEqual(yield* room("openai#1"), [2, true])
      }).pipe(Effect.provide(costStack(models, provider(sent), {}, undefined, { openai: ["sk-0", "sk-1"] })))
    }))

  it.effect("taken by no key after all (the other key filled meanwhile): the 429 is the model's failure, as before", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(Date.UTC(2026, 0, 15, 12))
      const sent: Array<string> = []
      const beforeMoving = { run: Effect.void as Effect.Effect<unknown> }
      const one = [model("m", { qualityScore: 0.9, rateLimits: { rpm: 1, tpm: 1_000_000 } })]
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const m = yield* (yield* ModelRegistry).get("m")
        const limiter = yield* RateLimiter
        // Another request takes key 1's only request of the minute between the move's check and its hold.
        beforeMoving.run = Effect.orDie(limiter.reserve(m, 1, "openai#1"))
        const failed = yield* Effect.flip(gateway.complete(ask("m"), requirements))
        assert.strictEqual(failed._tag, "AllCandidatesFailed")
        assert.deepStrictEqual(sent, ["openai#0"])
        assert.deepStrictEqual(yield* untilSome(performanceRecords), [["m", false, "RateLimited"]])
        assert.deepStrictEqual(yield* costRecords, [])
      }).pipe(Effect.provide(costStack(one, provider(sent, beforeMoving), {}, undefined, { openai: ["sk-0", "sk-1"] })))
    }))
})
