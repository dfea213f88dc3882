/**
 * An answer the provider gave whole, and bills, but the gateway cannot use.
 * Gemini answers 200 with `finishReason: MALFORMED_FUNCTION_CALL` (no OpenAI
 * equivalent: treated as an upstream error, PROVIDERS.md §5), and its
 * `usageMetadata` counts the tokens; Google charges
 * every request but those that fail with a 400 or 500 ("Am I charged for
 * failed requests?", ai.google.dev/gemini-api/docs/billing). The error
 * carries that usage, for the gateway to charge, and the adapter does not
 * call again (each call would be billed; failover decides what is next).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Google from "../src/Google.js"
import { ctxOf, keyOf, live, modelOf } from "./internal/fixtures.js"
import { rawAdapter } from "./internal/rawUpstream.js"

const usageMetadata = { promptTokenCount: 5_000, cachedContentTokenCount: 1_000, candidatesTokenCount: 40, thoughtsTokenCount: 300, totalTokenCount: 5_340 }
const billed = {
  prompt_tokens: 5_000,
  completion_tokens: 340,
  total_tokens: 5_340,
  prompt_tokens_details: { cached_tokens: 1_000 },
  completion_tokens_details: { reasoning_tokens: 300 }
}

const answer = (candidate: Record<string, unknown>) =>
  JSON.stringify({ candidates: [{ index: 0, ...candidate }], usageMetadata, modelVersion: "gemini-2.5-flash", responseId: "r1" })

const ctx = ctxOf(modelOf("google", "gemini-2.5-flash"), keyOf("google", "AIza-fake-key"))

describe("a billed answer that cannot be used", () => {
  it.scopedLive("Gemini MALFORMED_FUNCTION_CALL: MalformedResponse carrying the usage, not called again", () =>
    live(Effect.gen(function*() {
      const { provider, server } = yield* rawAdapter(Google.make, [{ body: answer({ finishReason: "MALFORMED_FUNCTION_CALL" }) }], { maxRetries: 2 })
      const error = yield* Effect.flip(provider.chat(ctx))
      assert.strictEqual(error._tag, "MalformedResponse")
      assert.lengthOf(server.requests, 1, "each call is billed: not retried")
      assert.deepStrictEqual(error.usage, billed)
    })))

  it.scopedLive("Gemini safety block of the answer: a content_filter answer (no error) carrying the usage, not called again", () =>
    live(Effect.gen(function*() {
      const { provider, server } = yield* rawAdapter(Google.make, [{ body: answer({ finishReason: "SAFETY" }) }], { maxRetries: 2 })
      const { response } = yield* provider.chat(ctx)
      assert.strictEqual(response.choices[0].finish_reason, "content_filter")
      assert.lengthOf(server.requests, 1)
      assert.deepStrictEqual(response.usage, billed)
    })))
})
