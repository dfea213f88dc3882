/**
 * A stream that breaks after the provider reported part of its usage.
 * Anthropic sends the request's input usage in `message_start` (fresh input,
 * cache reads and cache writes: PROVIDERS.md §2 Streaming, "message_start
 * carries input usage"); a stream cut after it has still been billed that
 * input, at the cache prices, by Anthropic. The gateway should charge those
 * counts, not its own estimate of the prompt at the full input price.
 *
 * The fakes answer over real sockets (live clock).
 */
import { assert, describe, it } from "@effect/vitest"
import { computeCost } from "@modelgate/core/CostTracker"
import { Gateway } from "@modelgate/core/Gateway"
import type { ChatRequest } from "@modelgate/domain/Chat"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect, Either, Stream } from "effect"
import { costRows, models, stack } from "./fixture.js"

const rules = "Answer as the house style guide says. ".repeat(200)
const ask = (question: string): ChatRequest => ({
  model: "claude-haiku",
  messages: [
    { role: "system", content: [{ type: "text", text: rules, cache_control: { type: "ephemeral" } }] },
    { role: "user", content: question }
  ]
})

const pricing = { inputPerMillion: 1, outputPerMillion: 5, cachedInputPerMillion: 0.1, cacheWriteInputPerMillion: 1.25 }

describe("Cost of a stream cut after the provider reported its input", () => {
  it.scopedLive("an Anthropic stream cut after message_start is charged the input message_start reported, cache reads at their price", () =>
    Effect.gen(function* () {
      const registry = models()
      const s = yield* stack({
        models: { ...registry, models: [registry.models[0]!, { ...registry.models[1]!, pricing }] },
        gateway: { cache: { enabled: false } }
      })
      const reported = yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        // Writes the long system prompt to Anthropic's prompt cache.
        yield* gateway.complete(ask("first question"), defaultRequirements)
        // message_start, ping, content_block_start, one text delta: then the connection breaks, once the
        // stream has begun (in the same read as the first text, the request would fail over instead).
        const later = yield* Effect.makeLatch(false)
        yield* s.anthropic.script(Fault.cut(4, later))
        const cut = yield* gateway.stream({ ...ask("second question"), stream: true }, defaultRequirements)
        yield* later.open
        const result = yield* Effect.either(Stream.runCollect(cut.chunks))
        assert.isTrue(Either.isLeft(result), "the cut stream fails")
        // The same request answered whole: the input message_start reported for the cut one.
        const whole = yield* gateway.complete(ask("second question"), defaultRequirements)
        return whole.response.usage
      }).pipe(Effect.provide(s.layer))
      // The layer is closed: the record writer flushed on the way out.
      const [, cut] = costRows(s.db)
      assert.isDefined(cut)
      const cached = reported.prompt_tokens_details?.cached_tokens ?? 0
      assert.isAbove(cached, 1_000, "the cut request read the cached prefix")
      const billed = computeCost(pricing, { promptTokens: reported.prompt_tokens, completionTokens: cut!.completion_tokens, cachedTokens: cached })
      assert.strictEqual(cut!.cost_pico, billed, `charged $${cut!.cost_pico / 1e12} where Anthropic bills $${billed / 1e12}`)
      assert.strictEqual(cut!.prompt_tokens, reported.prompt_tokens, "the prompt Anthropic counted")
      assert.strictEqual(cut!.cached_tokens, cached, "the cache reads Anthropic counted")
    }))
})
