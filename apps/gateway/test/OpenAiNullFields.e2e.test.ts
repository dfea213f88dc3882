/**
 * The fields the OpenAI API always sends, null when unused, are sent from
 * every provider: `logprobs: null` on each choice of an answer and of a
 * stream chunk, `message.refusal: null` on an answer that refused nothing.
 * Strict clients (a Pydantic model or a Go struct with required fields)
 * reject an answer without them. A cache hit, complete or replayed as a
 * stream, has them too.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { post, serveAll } from "./support/FourProviderStack.js"
import { chunksOf } from "./support/RawProviders.js"

const ask = (model: string, stream: boolean, question: string) => ({
  model,
  temperature: 0,
  stream,
  messages: [{ role: "user", content: `say hello (${question})` }]
})

const checkComplete = (text: string, what: string) => {
  const body = JSON.parse(text)
  for (const choice of body.choices) {
    assert.isTrue("logprobs" in choice && choice.logprobs === null, `${what}: choice without logprobs: null: ${text}`)
    assert.isTrue("refusal" in choice.message && choice.message.refusal === null, `${what}: message without refusal: null: ${text}`)
  }
}
const checkChunks = (text: string, what: string) => {
  const chunks = chunksOf(text)
  assert.isAbove(chunks.length, 1, text)
  for (const chunk of chunks) {
    for (const choice of chunk.choices) {
      assert.isTrue("logprobs" in choice && choice.logprobs === null, `${what}: chunk choice without logprobs: null: ${JSON.stringify(chunk)}`)
    }
  }
}

describe("OpenAI's null fields", () => {
  it.scopedLive("on every provider's answers and chunks, and on cache hits", () =>
    Effect.gen(function* () {
      const s = yield* serveAll({ cache: { enabled: true } })
      for (const model of ["gpt", "claude", "gemini", "llama"]) {
        for (const stream of [false, true]) {
          const check = stream ? checkChunks : checkComplete
          const what = `${model}${stream ? " streamed" : ""}`
          // Then the other way: a complete hit of a streamed answer (assembled from its chunks), a replay of a complete one.
          const first = yield* post(s.url, ask(model, stream, what))
          assert.strictEqual(first.status, 200, first.text)
          assert.strictEqual(first.headers.get("x-modelgate-cache"), "miss")
          check(first.text, what)
          const other = stream ? checkComplete : checkChunks
          const hit = yield* post(s.url, ask(model, !stream, what))
          assert.strictEqual(hit.headers.get("x-modelgate-cache"), "hit")
          other(hit.text, `${what}, then a hit`)
        }
      }
    }), { timeout: 30_000 })
})
