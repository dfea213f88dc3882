/**
 * OpenAI's per-day limits (requests or tokens per day, RPD / TPD) answer a
 * 429 `rate_limit_exceeded` whose `x-ratelimit-*` headers speak of the
 * per-minute limits only (not exhausted), and say the wait in the message
 * alone: "Please try again in 7.5s". That wait is the retry hint; the
 * per-minute resets (milliseconds away) would retry a refused key at once.
 */
import { Fault } from "@modelgate/testkit/FakeServer"
import * as FakeOpenAi from "@modelgate/testkit/FakeOpenAi"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as OpenAi from "../src/OpenAi.js"
import { adapterOver, assertRetryWaits, ctxOf, keyOf, live, modelOf } from "./internal/fixtures.js"

const model = modelOf("openai", "gpt-4o-mini", "fast-chat")
const key = keyOf("openai", "sk-test-openai")
const setup = adapterOver(FakeOpenAi.make, OpenAi.make, (fake) => fake.baseUrl)

/** A per-day 429 as OpenAI sends it: the per-minute headers still have room. */
const perDay = (wait: string) =>
  Fault.status(429, {
    body: {
      error: {
        message: `Rate limit reached for gpt-4o-mini in organization org-abc on tokens per day (TPD): Limit 2000000, Used 1999577, Requested 1020. Please try again in ${wait}. Visit https://platform.openai.com/account/rate-limits to learn more.`,
        type: "tokens",
        param: null,
        code: "rate_limit_exceeded"
      }
    },
    headers: {
      "x-ratelimit-limit-requests": "10000",
      "x-ratelimit-remaining-requests": "9999",
      "x-ratelimit-reset-requests": "6ms",
      "x-ratelimit-limit-tokens": "1000000",
      "x-ratelimit-remaining-tokens": "998000",
      "x-ratelimit-reset-tokens": "120ms"
    }
  })

describe("OpenAi per-day limits", () => {
  it.scoped("a 429 that names its wait in the message is retried after that wait, not the per-minute reset", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup({ maxRetries: 3, maxRetryWaitMs: 60_000 })
      yield* fake.script(perDay("7.5s"))
      yield* assertRetryWaits(fake, provider.chat(ctxOf(model, key)), 7_500)
    })))

  it.scoped("a wait over maxRetryWaitMs comes back at once, RateLimited with that wait (Go durations: 1m4.8s)", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup({ maxRetries: 3, maxRetryWaitMs: 5_000 })
      yield* fake.script(perDay("1m4.8s"))
      const error = yield* Effect.flip(provider.chat(ctxOf(model, key)))
      assert.strictEqual(error._tag, "RateLimited")
      assert.strictEqual(error._tag === "RateLimited" ? error.retryAfterMs : undefined, 64_800)
      assert.lengthOf(yield* fake.requests, 1)
    })), { timeout: 10_000 })
})
