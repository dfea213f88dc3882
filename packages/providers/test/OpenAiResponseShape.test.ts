import * as FakeOpenAi from "@modelgate/testkit/FakeOpenAi"
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Schema } from "effect"
import * as fc from "fast-check"
import { plainResponse } from "../src/OpenAi/shape.js"
import { WireResponse } from "../src/OpenAi/wire.js"
import { live } from "./internal/fixtures.js"
import { anyValue, assertHeldToSchema, count, mostly, optional, text } from "./internal/wireArbitraries.js"

const decode = Schema.decodeUnknownEither(Schema.parseJson(WireResponse))

/** OpenAI's everyday empty list, null, or web-search citations (left to the Schema). */
const annotations = fc.oneof(
  { arbitrary: fc.constant([]), weight: 4 },
  fc.constant(null),
  fc.array(fc.record({ type: fc.constant("url_citation"), url_citation: fc.record({ url: fc.webUrl(), start_index: count, end_index: count }) }), { minLength: 1, maxLength: 2 })
)


const toolCall = fc.record({
  id: mostly(fc.string({ maxLength: 6 })),
  type: optional(fc.constant("function")),
  function: mostly(fc.record({ name: mostly(fc.string({ maxLength: 6 })), arguments: mostly(fc.string({ maxLength: 8 })) }))
}, { requiredKeys: ["id", "function"] })
const message = fc.record({
  role: optional(fc.constantFrom("assistant", "user")),
  content: optional(text),
  refusal: optional(text),
  tool_calls: optional(fc.oneof(fc.constant(null), fc.array(toolCall, { maxLength: 2 }))),
  annotations: optional(annotations)
}, { requiredKeys: [] })
const choice = fc.record({
  index: optional(count),
  message: mostly(message),
  finish_reason: mostly(fc.constantFrom("stop", "length", "tool_calls", "weird", null)),
  logprobs: optional(fc.constant(null))
}, { requiredKeys: ["message", "finish_reason"] })
const details = (...keys: ReadonlyArray<string>) =>
  optional(fc.oneof(
    fc.constant(null),
    fc.record({
      ...Object.fromEntries(keys.map((key) => [key, optional(fc.oneof(fc.constant(null), count))])),
      audio_tokens: optional(count)
    }, { requiredKeys: [] })
  ))
const usage = fc.record({
  prompt_tokens: mostly(count),
  completion_tokens: mostly(count),
  total_tokens: optional(count),
  prompt_tokens_details: details("cached_tokens"),
  completion_tokens_details: details("reasoning_tokens", "accepted_prediction_tokens", "rejected_prediction_tokens")
}, { requiredKeys: ["prompt_tokens", "completion_tokens"] })
const response = fc.record({
  id: mostly(fc.string({ maxLength: 8 })),
  object: optional(fc.constant("chat.completion")),
  created: mostly(count),
  model: mostly(fc.string({ maxLength: 8 })),
  choices: mostly(fc.array(choice, { maxLength: 3 })),
  usage: optional(fc.oneof(fc.constant(null), usage)),
  service_tier: optional(fc.constant("default")),
  system_fingerprint: optional(text)
}, { requiredKeys: ["id", "created", "model", "choices"] })

/** The bench upstream's answer (`completionText` of bench/upstream-answers.ts), as an object. */
const benchBody = {
  id: "chatcmpl-bench",
  object: "chat.completion",
  created: 1_700_000_000,
  model: "gpt-4o-mini",
  choices: [{ index: 0, message: { role: "assistant", content: "Hello from the bench upstream." }, finish_reason: "stop", logprobs: null }],
  usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 }
}

/** The fake OpenAI's JSON answer to a request body (with the fake's own key). */
const fakeAnswer = (baseUrl: string, body: Record<string, unknown>) =>
  Effect.flatMap(HttpClient.HttpClient, (client) =>
    Effect.flatMap(
      client.execute(
        HttpClientRequest.post(`${baseUrl}/chat/completions`).pipe(
          HttpClientRequest.bearerToken("sk-test-openai"),
          HttpClientRequest.bodyUnsafeJson(body)
        )
      ),
      (res) => res.text
    ))

describe("OpenAI response fast path", () => {
  it("accepts only responses the Schema accepts, decoded to the same value", () => {
    assertHeldToSchema(fc.oneof({ arbitrary: response, weight: 10 }, { arbitrary: anyValue, weight: 1 }), plainResponse, decode, { numRuns: 3000, minAccepted: 300, minRejected: 300 })
  })

  it("takes the bench upstream's answer and OpenAI's everyday shapes without the Schema", () => {
    const everyday: ReadonlyArray<unknown> = [
      benchBody,
      {
        id: "chatcmpl-1",
        object: "chat.completion",
        created: 1_741_569_952,
        model: "gpt-4o-2024-08-06",
        choices: [{
          index: 0,
          message: { role: "assistant", content: "Hello!", refusal: null, annotations: [] },
          logprobs: null,
          finish_reason: "stop"
        }],
        usage: {
          prompt_tokens: 19,
          completion_tokens: 10,
          total_tokens: 29,
          prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
          completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 }
        },
        service_tier: "default",
        system_fingerprint: "fp_1"
      },
      {
        id: "chatcmpl-2",
        object: "chat.completion",
        created: 1,
        model: "m",
        choices: [{
          index: 0,
          message: {
            role: "assistant",
            content: null,
            tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: "{\"city\":\"Oslo\"}" } }]
          },
          finish_reason: "tool_calls"
        }],
        usage: null
      }
    ]
    for (const value of everyday) {
      const data = JSON.stringify(value)
      const plain = plainResponse(JSON.parse(data))
      assert.isDefined(plain, data)
      assert.deepStrictEqual(plain, Either.getOrThrow(decode(data)))
    }
  })

  it.scoped("takes the fake OpenAI's answers (text, tool call, length, JSON mode) without the Schema", () =>
    live(Effect.gen(function*() {
      const fake = yield* FakeOpenAi.make()
      const user = (content: string) => [{ role: "user", content }]
      const tools = [{ type: "function", function: { name: "get_weather", parameters: { type: "object" } } }]
      const bodies = [
        { model: "gpt-4o-mini", messages: user("hello there") },
        { model: "gpt-4o-mini", messages: user("call get_weather please"), tools },
        { model: "gpt-4o-mini", messages: user("a long answer please"), max_tokens: 1 },
        { model: "gpt-4o", messages: user("as json"), response_format: { type: "json_object" } }
      ]
      const reasons: Array<string | null> = []
      for (const body of bodies) {
        const data = yield* fakeAnswer(fake.baseUrl, body)
        const plain = plainResponse(JSON.parse(data))
        assert.isDefined(plain, data)
        assert.deepStrictEqual(plain, Either.getOrThrow(decode(data)))
        reasons.push(plain?.choices[0]?.finish_reason ?? null)
      }
      // The answers are the intended variety (a tool call and a cut-off among them).
      assert.deepStrictEqual(reasons, ["stop", "tool_calls", "length", "stop"])
    })))

  it("leaves odd shapes and wrong types to the Schema", () => {
    const ok = { id: "c", created: 1, model: "m", choices: [{ index: 0, message: { content: "x" }, finish_reason: "stop" }] }
    assert.isDefined(plainResponse(ok))
    const others: ReadonlyArray<unknown> = [
      { ...ok, id: 1 },
      { ...ok, created: -1 },
      { ...ok, created: 1.5 },
      { ...ok, created: 2 ** 53 },
      { ...ok, model: null },
      { ...ok, choices: {} },
      { ...ok, choices: [{ index: 0, message: { content: "x" } }] },
      { ...ok, choices: [{ index: 0, message: { content: 3 }, finish_reason: "stop" }] },
      { ...ok, choices: [{ index: 0, message: "x", finish_reason: "stop" }] },
      { ...ok, choices: [{ message: { content: null, tool_calls: [{ id: "t", function: { name: "f" } }] }, finish_reason: "tool_calls" }] },
      { ...ok, usage: { prompt_tokens: 1 } },
      { ...ok, usage: { prompt_tokens: 1, completion_tokens: 2, prompt_tokens_details: { cached_tokens: "0" } } },
      { ...ok, system_fingerprint: 5 },
      // Citations: carried through the Schema.
      { ...ok, choices: [{ index: 0, message: { content: "x", annotations: [{ type: "url_citation", url_citation: { url: "https://a" } }] }, finish_reason: "stop" }] },
      { error: { message: "overloaded" } },
      [],
      "x",
      null,
      undefined
    ]
    for (const value of others) assert.isUndefined(plainResponse(value), JSON.stringify(value))
  })
})
