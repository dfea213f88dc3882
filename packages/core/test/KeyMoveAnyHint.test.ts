/**
 * A provider's 429 on one key moves the call to another key of the provider
 * with room, on the same model, whatever its retry hint: one longer than
 * `maxRetryWaitMs` (the adapter does not wait it out, so it never asks
 * `onRetry`), or none once the adapter's retries are spent. Each key limits
 * on its own, so the model the client asked for is still there. The call
 * fails over to the next model only when no other key takes it. Each key is
 * tried once per attempt: keys that all refuse without a hint (nothing
 * blocks them in the limiter) do not bounce the call between them.
 * Before the fix a 429 the adapter did not wait out failed over to the next
 * model at once, with another key of the asked model free; and a call whose
 * keys all refused without a hint moved between them for as long as the
 * adapter retried.
 */
import { assert, describe, it } from "@effect/vitest"
import type { Usage } from "@modelgate/domain/Chat"
import { RateLimited } from "@modelgate/domain/ProviderError"
import { Effect, type Layer, Option, TestClock } from "effect"
import { Gateway } from "../src/Gateway.js"
import { ModelRegistry } from "../src/ModelRegistry.js"
import { PerformanceMonitor } from "../src/PerformanceMonitor.js"
import type { Provider } from "../src/Provider.js"
import { RateLimiter } from "../src/RateLimiter.js"
import { ask, costRecords, costStack, performanceRecords, requirements, storyAnswer, untilSome } from "./CostStack.js"
import { model } from "./RoutingFixtures.js"

const usage: Usage = { prompt_tokens: 50, completion_tokens: 20, total_tokens: 70 }

/**
 * An "openai" double whose calls in `refusing` (`<model> <key>`) answer 429
 * with `retryAfterMs` (undefined: no hint). With `asks`, it tells `onRetry`
 * first, as the adapter does before it retries, and fails at once when told
 * "elsewhere" (else retries on its key, refused again, at most twice).
 * Without, it fails at once, as the adapter does for a longer hint, or once
 * its retries are spent. `sent` lists `<model> <key>` of each request.
 */
const provider = (sent: Array<string>, refusing: ReadonlyArray<string>, retryAfterMs: number | undefined, asks = false): Provider => ({
  id: "openai",
  requiresKey: true,
  chat: (ctx) =>
    Effect.gen(function* () {
      const call = `${ctx.model.id} ${ctx.key?.id ?? "none"}`
      sent.push(call)
      if (!refusing.includes(call)) return { response: storyAnswer(ctx.model.id, usage), rateLimit: undefined, providerRequestId: undefined }
      const refused = new RateLimited({ provider: "openai", model: ctx.model.id, status: 429, detail: "scripted", retryAfterMs })
      const attempts = [{ tag: "RateLimited", status: 429, message: refused.message }]
      for (let retry = 0; asks && retry < 2; retry++) {
        const choice = ctx.onRetry === undefined ? undefined : yield* ctx.onRetry(refused)
        if (choice === "elsewhere") break
        sent.push(call)
        attempts.push(attempts[0]!)
      }
      return yield* Effect.fail(new RateLimited({ ...refused, attempts }))
    }),
  stream: () => Effect.dieMessage("not streamed here"),
  probe: () => Effect.succeed({ ok: true, latencyMs: 0, error: undefined })
})

/** m, asked for, with n (same provider) as its fallback. */
const models = [
  model("m", { qualityScore: 0.9, rateLimits: { rpm: 10, tpm: 1_000_000 }, fallbacks: ["n"] }),
  model("n", { qualityScore: 0.5, rateLimits: { rpm: 10, tpm: 1_000_000 } })
]

const twoKeys = { openai: ["sk-0", "sk-1"] }

/** `body` at noon on the stack whose "openai" double is `provider(sent, ...)`: `sent` lists the requests it got. */
const onTwoKeys = <A, E>(
  refusing: ReadonlyArray<string>,
  retryAfterMs: number | undefined,
  asks: boolean,
  body: (sent: ReadonlyArray<string>) => Effect.Effect<A, E, Layer.Layer.Success<ReturnType<typeof costStack>>>
) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(Date.UTC(2026, 0, 15, 12))
    const sent: Array<string> = []
    return yield* body(sent).pipe(Effect.provide(costStack(models, provider(sent, refusing, retryAfterMs, asks), {}, undefined, twoKeys)))
  })

/** A request for m, answered. */
const askM = Effect.flatMap(Gateway, (gateway) => gateway.complete(ask("m"), requirements))

describe("a 429 on one key, whatever its hint, moves the call to another key with room", () => {
  it.effect("a hint longer than maxRetryWaitMs: the call runs on the other key, on the model asked for", () =>
    onTwoKeys(["m openai#0"], 60_000, false, (sent) =>
      Effect.gen(function* () {
        const answer = yield* askM
        assert.deepStrictEqual([answer.meta.model, answer.meta.failovers], ["m", 0])
        assert.deepStrictEqual(sent, ["m openai#0", "m openai#1"])
        // One successful call of m in its figures, charged once.
        assert.deepStrictEqual(yield* performanceRecords, [["m", true, undefined]])
        const figures = yield* (yield* PerformanceMonitor).modelPerformance("m")
        assert.deepStrictEqual(Option.map(figures, (f) => [f.requests, f.successRate]), Option.some([1, 1]))
        assert.strictEqual((yield* costRecords).length, 1)
        // The 429 counts in its key's requests and blocks that key for its hint.
        const m = yield* (yield* ModelRegistry).get("m")
        const limiter = yield* RateLimiter
        const room = (key: string) => Effect.map(limiter.headroom(m, 1, key, true), (h) => h.fits)
        assert.isFalse(yield* room("openai#0"), "the refused key is blocked")
        yield* TestClock.adjust("61 seconds")
        assert.isTrue(yield* room("openai#0"), "free again after its hint")
      })))

  it.effect("no hint, the adapter's retries spent: the call runs on the other key", () =>
    onTwoKeys(["m openai#0"], undefined, false, (sent) =>
      Effect.gen(function* () {
        const answer = yield* askM
        assert.deepStrictEqual([answer.meta.model, answer.meta.failovers], ["m", 0])
        assert.deepStrictEqual(sent, ["m openai#0", "m openai#1"])
        assert.deepStrictEqual(yield* performanceRecords, [["m", true, undefined]])
      })))

  it.effect("every key refuses: each is tried once, then the call fails over, the 429 recorded as the model's failure", () =>
    onTwoKeys(["m openai#0", "m openai#1"], undefined, false, (sent) =>
      Effect.gen(function* () {
        const answer = yield* askM
        assert.deepStrictEqual([answer.meta.model, answer.meta.failovers], ["n", 1])
        assert.deepStrictEqual(sent.slice(0, 2), ["m openai#0", "m openai#1"])
        assert.deepStrictEqual(sent.slice(2).map((s) => s.split(" ")[0]), ["n"], "m tried once on each key, then n")
        const records = yield* untilSome(performanceRecords)
        assert.deepStrictEqual(records, [["m", false, "RateLimited"], ["n", true, undefined]])
      })))

  it.effect("keys that all refuse without a hint, the adapter asking onRetry: no bouncing between them", () =>
    onTwoKeys(["m openai#0", "m openai#1"], undefined, true, (sent) =>
      Effect.gen(function* () {
        const answer = yield* askM
        // Key 1 refused after key 0: the call retries there (key 0 already refused it), then fails over.
        assert.deepStrictEqual([answer.meta.model, answer.meta.failovers], ["n", 1])
        assert.deepStrictEqual(sent.filter((s) => s.startsWith("m ")), ["m openai#0", "m openai#1", "m openai#1", "m openai#1"])
      })))
})
