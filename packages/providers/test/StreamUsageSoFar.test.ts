/**
 * What a stream's provider reported of its usage before the final usage
 * chunk (`StreamResult.usageSoFar`): the gateway charges it for a stream that
 * breaks or is left before that chunk. Anthropic reports the input in
 * `message_start` (PROVIDERS.md §2 Streaming; the cumulative `message_delta`
 * replaces it field by field), Gemini a running `usageMetadata` on every
 * chunk (§3 Streaming: "a running total for the request ... take the
 * latest"). Over the testkit fakes, cut before their terminal event.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ChatRequest, Usage } from "@modelgate/domain/Chat"
import * as FakeAnthropic from "@modelgate/testkit/FakeAnthropic"
import * as FakeGoogle from "@modelgate/testkit/FakeGoogle"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect, Either, Stream } from "effect"
import * as Anthropic from "../src/Anthropic.js"
import * as Google from "../src/Google.js"
import { adapterOver, ctxOf, keyOf, live, modelOf } from "./internal/fixtures.js"

const question: Partial<ChatRequest> = {
  messages: [{ role: "user", content: "tell me about the many rivers of the northern plains and their towns" }]
}

/** The prompt side of a usage: what `message_start` / a running total already knows exactly. */
const promptSide = (usage: Usage | undefined) => ({
  prompt_tokens: usage?.prompt_tokens,
  cached_tokens: usage?.prompt_tokens_details?.cached_tokens,
  cache_creation_tokens: usage?.prompt_tokens_details?.cache_creation_tokens,
  cache_creation_1h_tokens: usage?.prompt_tokens_details?.cache_creation_1h_tokens
})

describe("usage reported before a stream's usage chunk", () => {
  it.scoped("Anthropic: from message_start on, the input, cache reads and writes it reported; nothing before", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* adapterOver(FakeAnthropic.make, Anthropic.make)({}, { cache: { read: 1_500, creation: 300, hour: 100 } })
      const ctx = ctxOf(modelOf("anthropic", "claude-fake-1"), keyOf("anthropic", FakeAnthropic.defaultApiKey), question)
      const whole = (yield* provider.chat(ctx)).response.usage
      // message_start, ping, content_block_start, one text delta: then the connection breaks.
      yield* fake.script(Fault.cut(4))
      const started = yield* provider.stream(ctx)
      assert.isUndefined(started.usageSoFar?.(), "nothing reported before the stream is read")
      const result = yield* Effect.either(Stream.runCollect(started.chunks))
      assert.isTrue(Either.isLeft(result) && result.left._tag === "StreamInterrupted")
      const reported = started.usageSoFar?.()
      assert.deepStrictEqual(promptSide(reported), promptSide(whole))
      assert.deepStrictEqual(promptSide(reported), { prompt_tokens: whole.prompt_tokens, cached_tokens: 1_500, cache_creation_tokens: 300, cache_creation_1h_tokens: 100 })
      assert.strictEqual(reported?.completion_tokens, 1, "message_start's output count: generation had just begun")
    })))

  it.scoped("Gemini: the latest running usageMetadata, thoughts and cached content included", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* adapterOver(FakeGoogle.make, Google.make)({}, { usage: { cached: 40, thoughts: 7 } })
      const ctx = ctxOf(modelOf("google", "gemini-fake"), keyOf("google", FakeGoogle.defaultApiKey), question)
      const whole = (yield* provider.chat(ctx)).response.usage
      // Every chunk but the last (the one with finishReason).
      yield* fake.script(Fault.cut())
      const started = yield* provider.stream(ctx)
      const result = yield* Effect.either(Stream.runCollect(started.chunks))
      assert.isTrue(Either.isLeft(result) && result.left._tag === "StreamInterrupted")
      const reported = started.usageSoFar?.()
      assert.deepStrictEqual(promptSide(reported), promptSide(whole))
      assert.strictEqual(reported?.prompt_tokens_details?.cached_tokens, 40)
      assert.strictEqual(reported?.completion_tokens_details?.reasoning_tokens, 7)
      // Thoughts and the candidates' tokens sent so far: more than the thoughts, less than the whole answer.
      assert.isAbove(reported?.completion_tokens ?? 0, 7)
      assert.isBelow(reported?.completion_tokens ?? 0, whole.completion_tokens)
    })))
})
