/**
 * An OpenAI answer the model refused (structured outputs: `message.refusal`
 * set, `content` null, `finish_reason: "stop"`; streamed as `refusal`
 * deltas) reaches the client unchanged and is not cached: like a content
 * filter's verdict, a refusal may not hold next time (a reworded system
 * prompt, a model update), and a cached one would be replayed to every later
 * asker for the whole TTL.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { post } from "./support/FourProviderStack.js"
import { chunksOf, json, openaiSse, serveRaw } from "./support/RawProviders.js"

const usage = { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 }
const refusal = "I'm sorry, I cannot help with that."
const complete = (refused: boolean) =>
  json({
    id: "chatcmpl-1",
    object: "chat.completion",
    created: 1,
    model: "gpt-4o-mini",
    choices: [{
      index: 0,
      message: { role: "assistant", content: refused ? null : "{\"a\":1}", refusal: refused ? refusal : null },
      logprobs: null,
      finish_reason: "stop"
    }],
    usage
  })
const chunk = (delta: unknown, finish: string | null = null) => ({
  id: "c",
  object: "chat.completion.chunk",
  created: 1,
  model: "gpt-4o-mini",
  choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }]
})
const streamed = (refused: boolean) =>
  openaiSse([
    chunk({ role: "assistant", content: null, refusal: refused ? "" : null }),
    ...(refused ? [chunk({ refusal: "I'm sorry, " }), chunk({ refusal: "I cannot help with that." })] : [chunk({ content: "{\"a\":1}" })]),
    chunk({}, "stop"),
    { id: "c", object: "chat.completion.chunk", created: 1, model: "gpt-4o-mini", choices: [], usage }
  ])
const ask = (question: string, stream: boolean) => ({
  model: "gpt",
  temperature: 0,
  stream,
  response_format: { type: "json_schema", json_schema: { name: "a", strict: true, schema: { type: "object", properties: { a: { type: "number" } }, required: ["a"], additionalProperties: false } } },
  messages: [{ role: "user", content: question }]
})

describe("response cache and a model's refusal", () => {
  it.scopedLive("a refusal reaches the client as sent and is asked again", () =>
    Effect.gen(function* () {
      const s = yield* serveRaw({ cache: { enabled: true } })
      for (const stream of [false, true]) {
        const answer = stream ? streamed : complete
        s.openai.script(answer(true), answer(false))
        const refused = yield* post(s.url, ask(`refused ${stream}`, stream))
        assert.strictEqual(refused.status, 200, refused.text)
        if (stream) {
          const deltas = chunksOf(refused.text).flatMap((c) => (c.choices as Array<any>).map((choice) => choice.delta.refusal ?? "")).join("")
          assert.strictEqual(deltas, refusal)
        } else {
          const message = JSON.parse(refused.text).choices[0].message
          assert.strictEqual(message.refusal, refusal)
          assert.isNull(message.content)
        }
        const again = yield* post(s.url, ask(`refused ${stream}`, stream))
        assert.strictEqual(again.headers.get("x-modelgate-cache"), "miss", `stream ${stream}: a refusal was replayed from the cache`)
        assert.notInclude(again.text, "cannot help")
      }
      assert.lengthOf(s.openai.requests, 4)
    }), { timeout: 30_000 })
})
