/**
 * n > 1 on Gemini (candidateCount) where one candidate is blocked
 * (`finishReason: "SAFETY"`, no content) and another answered: OpenAI's
 * shape for that is a choice with `finish_reason: "content_filter"` beside
 * the good one (PROVIDERS.md, finish-reason table). The gateway failed the
 * whole request with a 400 content_filter instead, throwing away the
 * answer Gemini produced (and billed). Every candidate blocked is still the
 * ContentFiltered error, as with one candidate.
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

  it.scopedLive("every candidate blocked is still a content_filter error", () =>
    Effect.gen(function* () {
      const s = yield* serveRaw()
      const blocked = { ...answer, candidates: [answer.candidates[0], { finishReason: "SAFETY", index: 1 }] }
      s.google.script(json(blocked))
      const r = yield* post(s.url, ask)
      assert.strictEqual(r.status, 400, r.text)
      assert.include(r.text, "content_filter")
      s.google.script(geminiSse([blocked]))
      const st = yield* post(s.url, { ...ask, stream: true })
      assert.strictEqual(st.status, 400, st.text)
      assert.include(st.text, "content_filter")
    }))
})
