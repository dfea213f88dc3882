/**
 * Tokens read from the prompt cache count toward a model's `tpm` unless its
 * `rateLimits.cacheReadsCount` is false: Anthropic's input limit (ITPM, the
 * registry's `tpm` for its models) does not count them for most models, so an
 * agent resending a long cached context is not held back by them; OpenAI's
 * TPM counts them (the default).
 */
import { assert, describe, it } from "@effect/vitest"
import type { ChatResponse, Usage } from "@modelgate/domain/Chat"
import { Effect, Either } from "effect"
import { Gateway } from "../src/Gateway.js"
import type { Provider } from "../src/Provider.js"
import { ask, costStack, requirements } from "./CostStack.js"
import { model } from "./RoutingFixtures.js"

// A 25 000-token prompt of which 24 000 are read from the cache, 300 tokens of answer.
const usage: Usage = {
  prompt_tokens: 25_000,
  completion_tokens: 300,
  total_tokens: 25_300,
  prompt_tokens_details: { cached_tokens: 24_000 }
}

const response = (modelId: string): ChatResponse => ({
  id: "up",
  object: "chat.completion",
  created: 0,
  model: modelId,
  choices: [{ index: 0, message: { role: "assistant", content: "Done." }, finish_reason: "stop" }],
  usage
})

const provider = (id: string): Provider => ({
  id,
  requiresKey: false,
  chat: (ctx) => Effect.succeed({ response: response(ctx.model.providerModel), rateLimit: undefined, providerRequestId: undefined }),
  stream: () => Effect.die("not streamed here"),
  probe: () => Effect.succeed({ ok: true, latencyMs: 0, error: undefined })
})

/** Ten requests in a row, within one window: which of them the model served. */
const tenInARow = Effect.gen(function* () {
  const gateway = yield* Gateway
  const served: Array<boolean> = []
  for (let i = 0; i < 10; i++) served.push(Either.isRight(yield* Effect.either(gateway.complete(ask("m", "go on"), requirements))))
  return served
})

describe("Cache reads and the token rate limit", () => {
  it.effect("cacheReadsCount false (Anthropic's ITPM): a long cached context does not use up the limit", () =>
    Effect.gen(function* () {
      // ITPM 30 000 (Claude tier 1): 1 000 uncached input + 300 output a request
      const served = yield* tenInARow
      assert.deepStrictEqual(served, Array(10).fill(true))
    }).pipe(Effect.provide(costStack(
      [model("m", { provider: "anthropic", rateLimits: { rpm: 50, tpm: 30_000, cacheReadsCount: false } })],
      provider("anthropic")
    ))))

  it.effect("by default (OpenAI's TPM) cache reads count: the third 25 000-token request waits", () =>
    Effect.gen(function* () {
      const served = yield* tenInARow
      assert.deepStrictEqual(served.slice(0, 3), [true, true, false])
    }).pipe(Effect.provide(costStack([model("m", { rateLimits: { rpm: 50, tpm: 30_000 } })], provider("openai")))))
})

