import { assert, describe, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import * as fc from "fast-check"
import { plainChunk } from "../src/OpenAi/chunkShape.js"
import { normaliseChunk, WireChunk } from "../src/OpenAi/wire.js"
import { count, mostly, optional, text } from "./internal/wireArbitraries.js"

const decode = Schema.decodeUnknownEither(Schema.parseJson(WireChunk))
const identity = { id: "chatcmpl-fallback", created: 7, model: "fallback-model" }
const isPlainChunk = (u: unknown): boolean => plainChunk(u, identity) !== undefined

const toolCall = fc.record({ index: count, id: optional(fc.string()), function: optional(fc.record({ name: text, arguments: text })) }, {
  requiredKeys: ["index"]
})
const delta = fc.record({
  role: optional(fc.constantFrom("assistant", "user")),
  content: optional(text),
  refusal: optional(text),
  tool_calls: fc.option(fc.array(toolCall, { maxLength: 2 }), { nil: undefined, freq: 8 }),
  audio: optional(fc.constant({ id: "x" })),
  annotations: optional(fc.oneof(
    { arbitrary: fc.constant([]), weight: 4 },
    fc.constant(null),
    fc.constant([{ type: "url_citation", url_citation: { url: "https://example.com", start_index: 0, end_index: 3 } }])
  ))
}, { requiredKeys: ["content"] })
const choice = fc.record({
  index: mostly(count),
  delta: optional(delta),
  finish_reason: optional(fc.constantFrom("stop", "length", "tool_calls", "weird")),
  logprobs: optional(fc.constant(null))
}, { requiredKeys: ["index"] })
const usage = fc.record({
  prompt_tokens: mostly(count),
  completion_tokens: mostly(count),
  total_tokens: optional(count),
  prompt_tokens_details: fc.option(
    fc.oneof(fc.constant(null), fc.record({ cached_tokens: optional(mostly(count)), audio_tokens: optional(count) })),
    { nil: undefined, freq: 3 }
  ),
  completion_tokens_details: fc.option(
    fc.oneof(fc.constant(null), fc.record({ reasoning_tokens: optional(mostly(count)), accepted_prediction_tokens: optional(mostly(count)), rejected_prediction_tokens: optional(count) })),
    { nil: undefined, freq: 3 }
  )
}, { requiredKeys: ["prompt_tokens", "completion_tokens"] })
const chunk = fc.record({
  id: optional(fc.string({ maxLength: 8 })),
  object: optional(fc.constant("chat.completion.chunk")),
  created: optional(count),
  model: optional(fc.string({ maxLength: 8 })),
  choices: optional(fc.array(choice, { maxLength: 3 })),
  usage: optional(usage),
  system_fingerprint: optional(text),
  error: fc.option(fc.record({ message: text }), { nil: undefined, freq: 10 })
}, { requiredKeys: [] })

describe("OpenAI stream chunk fast path", () => {
  it("reads only chunks the Schema accepts, into exactly the chunk they normalise to", () => {
    let accepted = 0
    let rejected = 0
    let acceptedWithDetails = 0
    fc.assert(
      fc.property(chunk, (value) => {
        const data = JSON.stringify(value)
        const plain = plainChunk(JSON.parse(data), identity)
        if (plain === undefined) {
          rejected++
          return
        }
        accepted++
        if (plain.usage?.prompt_tokens_details || plain.usage?.completion_tokens_details) acceptedWithDetails++
        const decoded = decode(data)
        assert.isTrue(Either.isRight(decoded), `the Schema rejects what the fast path accepted: ${data}`)
        if (Either.isRight(decoded)) {
          const normalised = normaliseChunk(decoded.right, identity)
          assert.strictEqual(normalised._tag, "Ok", `the Schema path finds it invalid: ${data}`)
          if (normalised._tag === "Ok") {
            assert.deepStrictEqual(plain, normalised.value)
            // Same keys in the same order: the gateway writes the chunk as JSON.
            assert.strictEqual(JSON.stringify(plain), JSON.stringify(normalised.value))
          }
        }
      }),
      { numRuns: 3000 }
    )
    // Not vacuous: a good share of the generated chunks take each path.
    assert.isAbove(accepted, 100)
    assert.isAbove(rejected, 100)
    assert.isAbove(acceptedWithDetails, 10, "usage details taken by the fast path")
  })

  it("takes the everyday chunks (text deltas, finish, usage with or without details) without the Schema", () => {
    const everyday = [
      { id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null, logprobs: null }] },
      { id: "c", object: "chat.completion.chunk", created: 1, model: "m", system_fingerprint: "fp", choices: [{ index: 0, delta: { content: "Hi" }, finish_reason: null }] },
      { id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: {}, finish_reason: "stop" }] },
      { id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } },
      // OpenAI's include_usage chunk as it is sent today: details with keys we do not read.
      {
        id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [],
        usage: {
          prompt_tokens: 3, completion_tokens: 2, total_tokens: 5,
          prompt_tokens_details: { cached_tokens: 1, audio_tokens: 0 },
          completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 }
        }
      }
    ]
    for (const value of everyday) assert.isTrue(isPlainChunk(JSON.parse(JSON.stringify(value))), JSON.stringify(value))
    // Fields the chunk lacks come from the stream's identity.
    assert.deepStrictEqual(plainChunk({ choices: [{ index: 0, delta: { content: "x" } }] }, identity), {
      id: "chatcmpl-fallback",
      object: "chat.completion.chunk",
      created: 7,
      model: "fallback-model",
      choices: [{ index: 0, delta: { content: "x" }, logprobs: null, finish_reason: null }]
    })
  })

  it("leaves errors, tool calls, malformed usage and wrong types to the Schema", () => {
    const others: ReadonlyArray<unknown> = [
      { error: { message: "overloaded" } },
      { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: "t", function: { name: "f", arguments: "" } }] }, finish_reason: null }] },
      { choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, prompt_tokens_details: { cached_tokens: -1 } } },
      { choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, completion_tokens_details: [] } },
      { choices: [{ index: -1, delta: {}, finish_reason: null }] },
      { choices: [{ index: 0.5, delta: {}, finish_reason: null }] },
      { created: "1", choices: [] },
      { choices: [{ index: 0, delta: { content: 3 }, finish_reason: null }] },
      // Citations: carried through the Schema.
      { choices: [{ index: 0, delta: { annotations: [{ type: "url_citation", url_citation: { url: "https://a" } }] }, finish_reason: null }] },
      // An unknown finish reason: the Schema path words the error.
      { choices: [{ index: 0, delta: {}, finish_reason: "weird" }] },
      { choices: {} },
      [],
      "[DONE]",
      null
    ]
    for (const value of others) assert.isFalse(isPlainChunk(value), JSON.stringify(value))
  })
})
