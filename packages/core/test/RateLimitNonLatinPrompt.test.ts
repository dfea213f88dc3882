/**
 * The token rate limit holds for a prompt in Chinese: the limiter reserves
 * what the prompt will use on Claude (about a token a character), so the
 * calls in flight at once stay within the key's `tpm`. Counted at characters
 * / 4, four times as many went out, and Anthropic answered them with 429s.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ChatResponse } from "@modelgate/domain/Chat"
import { Deferred, Effect, Fiber, Ref } from "effect"
import { Gateway } from "../src/Gateway.js"
import type { Provider } from "../src/Provider.js"
import { ask, costStack, requirements } from "./CostStack.js"
import { model } from "./RoutingFixtures.js"

// 2,000 characters of Chinese: at least 2,000 tokens on Claude's tokenizer.
const prompt = "请用一句话总结哈姆雷特的情节。".repeat(134).slice(0, 2_000)

const response: ChatResponse = {
  id: "up",
  object: "chat.completion",
  created: 0,
  model: "claude-sonnet-4-5",
  choices: [{ index: 0, message: { role: "assistant", content: "好的。" }, finish_reason: "stop" }],
  usage: { prompt_tokens: 2_010, completion_tokens: 100, total_tokens: 2_110 }
}

/** A Claude double that holds every call until `release`, counting the calls it was sent. */
const heldProvider = (sent: Ref.Ref<number>, release: Deferred.Deferred<void>): Provider => ({
  id: "anthropic",
  requiresKey: false,
  chat: () =>
    Ref.update(sent, (n) => n + 1).pipe(
      Effect.zipRight(Deferred.await(release)),
      Effect.as({ response, rateLimit: undefined, providerRequestId: undefined })
    ),
  stream: () => Effect.die("not streamed here"),
  probe: () => Effect.succeed({ ok: true, latencyMs: 0, error: undefined })
})

const tpm = 10_000

describe("the token rate limit and a Chinese prompt", () => {
  it.effect("eight concurrent 2,000-character Chinese prompts to a 10,000-tpm Claude model: no more go out than the tpm holds", () =>
    Effect.gen(function* () {
      const sent = yield* Ref.make(0)
      const release = yield* Deferred.make<void>()
      const claude = model("claude", { provider: "anthropic", providerModel: "claude-sonnet-4-5", rateLimits: { rpm: 1_000, tpm } })
      const inFlight = yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const calls = yield* Effect.forEach(
          Array.from({ length: 8 }, () => gateway.complete(ask("claude", prompt, { max_tokens: 100 }), requirements)),
          (call) => Effect.fork(Effect.either(call))
        )
        for (let i = 0; i < 50; i++) yield* Effect.yieldNow()
        const inFlight = yield* Ref.get(sent)
        yield* Deferred.succeed(release, undefined)
        yield* Fiber.joinAll(calls)
        return inFlight
      }).pipe(Effect.provide(costStack([claude], heldProvider(sent, release))))
      // each call uses 2,110 tokens: at most 4 fit a minute's 10,000
      assert.isAtLeast(inFlight, 1)
      assert.isAtMost(inFlight * response.usage!.total_tokens, tpm, `${inFlight} calls in flight`)
    }))
})
