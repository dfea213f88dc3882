/**
 * n > 1 on Gemini (candidateCount) where one candidate is blocked
 * (`finishReason: "SAFETY"`, no content) and another answered: OpenAI's
 * shape for that is a choice with `finish_reason: "content_filter"` beside
 * the good one (PROVIDERS.md, finish-reason table). The gateway failed the
 * whole request with a 400 content_filter instead, throwing away the
 * answer Gemini produced (and billed). Every candidate blocked, or the one
 * asked for, is a 200 of `content_filter` choices too, as OpenAI answers
 * what its filter stopped and as an empty Anthropic refusal is answered
 * (AnthropicStopReasons.e2e.test.ts); it was a 400 `content_filter` error.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { post } from "./support/FourProviderStack.js"
import { chunksOf, geminiSse, json, serveRaw } from "./support/RawProviders.js"

const answer = {
  candidates: [
    { finishReason: "SAFETY", safetyRatings: [{ category: "HARM_CATEGORY_DANGEROUS_CONTENT", probability: "HIGH", blocked: true }] },
    { content: { role: "model", parts: [{ text: "Hello there" }] }, finishReason: "STOP", index: 1 }
  ],
  usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 2, totalTokenCount: 12 },
  modelVersion: "gemini-2.5-flash",
  responseId: "resp-blocked"
}
const ask = { model: "gemini", n: 2, messages: [{ role: "user", content: "say hi" }] }

describe("Gemini n > 1 with one blocked candidate", () => {
  it.scopedLive("non-streamed: the good choice and a content_filter choice", () =>
    Effect.gen(function* () {
      const s = yield* serveRaw()
      s.google.script(json(answer))
      const r = yield* post(s.url, ask)
      assert.strictEqual(r.status, 200, r.text)
      const body = JSON.parse(r.text)
      assert.deepStrictEqual(body.choices.map((c: any) => [c.index, c.message.content, c.finish_reason]), [
        [0, "", "content_filter"],
        [1, "Hello there", "stop"]
      ])
    }))

  it.scopedLive("streamed: the good choice and a content_filter choice", () =>
    Effect.gen(function* () {
      const s = yield* serveRaw()
      s.google.script(geminiSse([answer]))
      const r = yield* post(s.url, { ...ask, stream: true })
      assert.strictEqual(r.status, 200, r.text)
      const choices = chunksOf(r.text).flatMap((c) => c.choices)
      assert.deepStrictEqual(choices.filter((c: any) => c.finish_reason !== null).map((c: any) => [c.index, c.finish_reason]), [
        [0, "content_filter"],
        [1, "stop"]
      ])
      assert.strictEqual(choices.filter((c: any) => c.index === 1).map((c: any) => c.delta.content ?? "").join(""), "Hello there")
      assert.isFalse(r.text.includes("\"error\""), r.text)
    }))

  it.scopedLive("every candidate blocked, or the one asked for: a 200 of content_filter choices, whole and streamed", () =>
    Effect.gen(function* () {
      const s = yield* serveRaw()
      const blocked = { ...answer, candidates: [answer.candidates[0], { finishReason: "SAFETY", index: 1 }] }
      for (const [body, n] of [[blocked, 2], [{ ...answer, candidates: [answer.candidates[0]] }, 1]] as const) {
        s.google.script(json(body))
        const r = yield* post(s.url, { ...ask, n })
        assert.strictEqual(r.status, 200, r.text)
        const whole = JSON.parse(r.text)
        assert.deepStrictEqual(whole.choices.map((c: any) => [c.message.content, c.finish_reason]), Array(n).fill(["", "content_filter"]))
        assert.strictEqual(whole.usage.total_tokens, 12)
        s.google.script(geminiSse([body]))
        const st = yield* post(s.url, { ...ask, n, stream: true, stream_options: { include_usage: true } })
        assert.strictEqual(st.status, 200, st.text)
        const chunks = chunksOf(st.text)
        const finishes = chunks.flatMap((c) => c.choices).filter((c: any) => c.finish_reason !== null).map((c: any) => c.finish_reason)
        assert.deepStrictEqual(finishes, Array(n).fill("content_filter"))
        assert.strictEqual(chunks.find((c) => c.usage != null)?.usage.total_tokens, 12)
        assert.isFalse(st.text.includes("\"error\""), st.text)
      }
    }))
})
