/**
 * The model refused and produced no text: what an OpenAI-compatible client
 * gets. OpenAI answers 200 with `finish_reason: "content_filter"` when its
 * filter stops an answer, and an Anthropic refusal (`stop_reason: "refusal"`)
 * was already such a 200. A Gemini answer its safety filter stopped before
 * any text (`finishReason: "SAFETY"`, no content) was a ContentFiltered error
 * instead (a 400 to the client, whole; streamed, a 400 or an error event
 * depending on whether Gemini's first event carried the block), so the same
 * refusal read differently by provider. Now it is the same 200 answer, whole
 * and streamed, billed with the usage Gemini reported. A prompt Gemini
 * blocked (`promptFeedback.blockReason`, no candidate at all) stays a
 * ContentFiltered error, as Azure OpenAI's 400 `content_filter` for a
 * filtered prompt.
 */
import { assert, describe, it } from "@effect/vitest"
import * as FakeGoogle from "@modelgate/testkit/FakeGoogle"
import { Effect } from "effect"
import * as Google from "../src/Google.js"
import { adapterOver, collect, ctxOf, keyOf, live, modelOf, tagOf } from "./internal/fixtures.js"

const model = modelOf("google", "gemini-fake", "gemini-test")
const key = keyOf("google", FakeGoogle.defaultApiKey)
const setup = adapterOver(FakeGoogle.make, Google.make)
const asking = (content: string) => ctxOf(model, key, { messages: [{ role: "user", content }] })

describe("Gemini: an answer the safety filter stopped before any text", () => {
  it.scoped("whole: a 200 answer, finish_reason content_filter, no text, billed", () =>
    live(Effect.gen(function*() {
      const { provider } = yield* setup()
      const { response } = yield* provider.chat(asking("[block-answer] tell me"))
      const choice = response.choices[0]
      assert.strictEqual(choice.finish_reason, "content_filter")
      assert.strictEqual(choice.message.content, "")
      assert.isAbove(response.usage?.prompt_tokens ?? 0, 0)
    })))

  it.scoped("streamed: the stream ends with a content_filter finish and its usage", () =>
    live(Effect.gen(function*() {
      const { provider } = yield* setup()
      const chunks = yield* Effect.flatMap(provider.stream(asking("[block-answer] tell me")), (r) => collect(r.chunks))
      const finishes = chunks.flatMap((c) => c.choices.flatMap((ch) => (ch.finish_reason === null ? [] : [ch.finish_reason])))
      assert.deepStrictEqual(finishes, ["content_filter"])
      assert.strictEqual(chunks.map((c) => c.choices.map((ch) => ch.delta.content ?? "").join("")).join(""), "")
      assert.isAbove(chunks.at(-1)?.usage?.prompt_tokens ?? 0, 0)
    })))

  it.scoped("a blocked prompt stays ContentFiltered, whole and streamed", () =>
    live(Effect.gen(function*() {
      const { provider } = yield* setup()
      assert.strictEqual(yield* tagOf(provider.chat(asking("[block-prompt] x"))), "ContentFiltered")
      assert.strictEqual(
        yield* tagOf(Effect.flatMap(provider.stream(asking("[block-prompt] x")), (r) => collect(r.chunks))),
        "ContentFiltered"
      )
    })))
})
