/**
 * The OpenAI and Anthropic SDKs retry a 429 or 5xx twice by default, waiting
 * out a `Retry-After` of up to 60 s and otherwise backing off on their own
 * (half a second, then a second). A refusal no such retry can pass (a missing
 * provider key, a request that costs more than a whole budget, a wait longer
 * than a minute) says `x-should-retry: false`, which both SDKs obey: the
 * client gets the error at once, with its Retry-After, instead of two more
 * refusals; one that may clear soon leaves the SDK its retries.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { BudgetExceeded, MissingApiKey, NoEligibleModel, RateLimitExceeded } from "@modelgate/domain/Errors"
import { Effect } from "effect"
import OpenAI from "openai"
import { baseUrl, serverLayer } from "./support/Doubles.js"

const hello = { model: "auto", messages: [{ role: "user" as const, content: "hello" }] }
type SdkError = InstanceType<typeof OpenAI.APIError>

/** The error a client with `maxRetries` gets for `hello`. */
const thrownBy = (maxRetries: number) =>
  Effect.flatMap(baseUrl, (url) => {
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "unused", maxRetries })
    return Effect.flip(Effect.tryPromise({ try: () => client.chat.completions.create(hello), catch: (e) => e as SdkError }))
  })

const hour = 3_600_000

/** A gateway that refuses every request with `error`, counting them. */
const refusing = (error: unknown) => {
  let calls = 0
  const gateway = Gateway.of({
    complete: () => Effect.suspend(() => (++calls, Effect.fail(error as never))),
    stream: () => Effect.suspend(() => (++calls, Effect.fail(error as never)))
  })
  return { gateway, calls: () => calls }
}

/** The error an SDK client with its default two retries gets, and how many requests reached the gateway. */
const refusedOnce = (error: unknown) => {
  const double = refusing(error)
  return Effect.map(thrownBy(2), (thrown) => ({ thrown, calls: double.calls() })).pipe(Effect.provide(serverLayer(double.gateway)))
}

describe("SDK retries", () => {
  it.effect("a missing provider key is not retried", () =>
    Effect.gen(function* () {
      const { calls, thrown } = yield* refusedOnce(new MissingApiKey({ provider: "openai", reason: "OPENAI_API_KEY is not set" }))
      assert.strictEqual(thrown.status, 503)
      assert.strictEqual(thrown.headers?.get("x-should-retry"), "false")
      assert.strictEqual(calls, 1)
    }))

  it.effect("a request every model of which lacks its provider's key (no key set: the ranking sets them aside) is not retried", () =>
    Effect.gen(function* () {
      const { calls, thrown } = yield* refusedOnce(
        new NoEligibleModel({
          exclusions: [
            { model: "gpt-4o-mini", reason: "unavailable: no usable API key for openai: no key configured (set OPENAI_API_KEY)", kind: "permanent" },
            { model: "claude-haiku-4-5", reason: "unavailable: no usable API key for anthropic: no key configured (set ANTHROPIC_API_KEY)", kind: "permanent" }
          ]
        })
      )
      assert.strictEqual(thrown.status, 503)
      assert.strictEqual(thrown.headers?.get("x-should-retry"), "false")
      assert.strictEqual(calls, 1)
    }))

  it.effect("a request whose models are down until a probe within the minute leaves the SDK its retries", () =>
    Effect.gen(function* () {
      const thrown = yield* thrownBy(0)
      assert.strictEqual(thrown.status, 503)
      assert.isNull(thrown.headers?.get("x-should-retry") ?? null)
    }).pipe(Effect.provide(serverLayer(refusing(new NoEligibleModel({
      exclusions: [
        { model: "gpt-4o-mini", reason: "unavailable: no usable API key for openai", kind: "permanent" },
        { model: "llama3.1:8b", reason: "unavailable: unreachable", kind: "unavailable", retryAfterMs: 30_000 }
      ],
      retryAfterMs: 30_000
    })).gateway))))

  it.effect("a spent daily budget (Retry-After hours away) is not retried; its Retry-After is kept", () =>
    Effect.gen(function* () {
      const { calls, thrown } = yield* refusedOnce(
        new BudgetExceeded({ budget: "global", period: "daily", limitUsd: 1, spentUsd: 1.2, retryAfterMs: 10 * hour })
      )
      assert.strictEqual(thrown.status, 429)
      assert.strictEqual(thrown.headers?.get("retry-after"), "36000")
      assert.strictEqual(calls, 1)
    }))

  it.effect("a request that may cost more than the whole budget is not retried", () =>
    Effect.gen(function* () {
      const { calls, thrown } = yield* refusedOnce(
        new BudgetExceeded({ budget: "global", period: "daily", limitUsd: 1, spentUsd: 0, requestUsd: 1.5 })
      )
      assert.strictEqual(thrown.status, 429)
      assert.strictEqual(calls, 1)
    }))

  it.effect("a rate limit that frees within the minute leaves the SDK its retries", () =>
    Effect.gen(function* () {
      const thrown = yield* thrownBy(0)
      assert.strictEqual(thrown.headers?.get("retry-after"), "3")
      assert.isNull(thrown.headers?.get("x-should-retry") ?? null)
    }).pipe(Effect.provide(serverLayer(refusing(new RateLimitExceeded({ model: "gpt-test", dimension: "requests", retryAfterMs: 2_500 })).gateway))))
})
