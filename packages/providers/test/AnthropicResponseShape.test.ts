import * as FakeAnthropic from "@modelgate/testkit/FakeAnthropic"
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Schema } from "effect"
import * as fc from "fast-check"
import { plainResponse } from "../src/Anthropic/shape.js"
import { AnthropicResponse } from "../src/Anthropic/Response.js"
import { live } from "./internal/fixtures.js"
import { anyValue, assertHeldToSchema, mostly, optional, text } from "./internal/wireArbitraries.js"
import { usage } from "./internal/anthropicArbitraries.js"

const decode = Schema.decodeUnknownEither(Schema.parseJson(AnthropicResponse))

const block = fc.oneof(
  { arbitrary: fc.record({ type: mostly(fc.constantFrom("text", "text", "text", "thinking")), text: mostly(fc.string({ maxLength: 6 })), citations: optional(fc.constant(null)) }), weight: 8 },
  { arbitrary: fc.record({ type: fc.constant("tool_use"), id: fc.constant("t"), name: fc.constant("f"), input: fc.constant({ a: 1 }) }), weight: 1 },
  { arbitrary: fc.record({ type: fc.constant("thinking"), thinking: fc.constant("hm") }), weight: 1 },
  { arbitrary: anyValue, weight: 1 }
)
const response = fc.record({
  id: mostly(fc.string({ maxLength: 6 })),
  type: optional(fc.constant("message")),
  role: mostly(fc.constant("assistant")),
  model: mostly(fc.string({ maxLength: 6 })),
  content: mostly(fc.array(block, { maxLength: 3 })),
  stop_reason: mostly(fc.constantFrom("end_turn", "max_tokens", "weird", null)),
  stop_sequence: optional(text),
  usage: mostly(usage)
}, { requiredKeys: ["id", "role", "model", "content", "stop_reason", "usage"] })

/** A complete answer of the fake Anthropic, fetched over HTTP: its body. */
const fakeAnswer = (baseUrl: string, body: Record<string, unknown>) =>
  Effect.flatMap(HttpClient.HttpClient, (client) =>
    Effect.flatMap(
      client.execute(
        HttpClientRequest.post(`${baseUrl}/v1/messages`).pipe(
          HttpClientRequest.setHeaders({ "x-api-key": FakeAnthropic.defaultApiKey, "anthropic-version": "2023-06-01" }),
          HttpClientRequest.bodyUnsafeJson(body)
        )
      ),
      (res) => res.text
    ))

describe("Anthropic response fast path", () => {
  it("accepts only responses the Schema accepts, decoded to the same value", () => {
    assertHeldToSchema(fc.oneof({ arbitrary: response, weight: 10 }, { arbitrary: anyValue, weight: 1 }), plainResponse, decode, { numRuns: 5000, minAccepted: 1000, minRejected: 500 })
  })

  it.scoped("takes the fake Anthropic's text answers without the Schema; a tool-use answer goes to the Schema", () =>
    live(Effect.gen(function*() {
      const fake = yield* FakeAnthropic.make()
      const user = (content: string) => [{ role: "user", content }]
      const reasons: Array<string | null> = []
      for (const body of [
        { model: "claude-fake-1", max_tokens: 100, messages: user("hello there") },
        { model: "claude-fake-1", max_tokens: 1, messages: user("a long answer please") }
      ]) {
        const data = yield* fakeAnswer(fake.url, body)
        const plain = plainResponse(JSON.parse(data))
        assert.isDefined(plain, data)
        assert.deepStrictEqual(plain, Either.getOrThrow(decode(data)))
        reasons.push(plain?.stop_reason ?? null)
      }
      assert.deepStrictEqual(reasons, ["end_turn", "max_tokens"])
      const tools = [{ name: "get_weather", input_schema: { type: "object" } }]
      const data = yield* fakeAnswer(fake.url, { model: "claude-fake-1", max_tokens: 100, messages: user("weather?"), tools })
      assert.isUndefined(plainResponse(JSON.parse(data)), data)
      assert.isTrue(Either.isRight(decode(data)), data)
    })))

  it("leaves odd shapes and wrong types to the Schema", () => {
    const ok = {
      id: "m",
      type: "message",
      role: "assistant",
      model: "c",
      content: [{ type: "text", text: "x" }],
      stop_reason: "end_turn",
      usage: { input_tokens: 1, output_tokens: 2 }
    }
    assert.isDefined(plainResponse(ok))
    const others: ReadonlyArray<unknown> = [
      { ...ok, id: 1 },
      { ...ok, type: "other" },
      { ...ok, role: "user" },
      { ...ok, content: {} },
      { ...ok, content: [{ type: "text" }] },
      { ...ok, content: [{ type: "tool_use", id: "t", name: "f", input: {} }] },
      { ...ok, stop_reason: undefined },
      { ...ok, stop_reason: 1 },
      { ...ok, stop_sequence: 1 },
      { ...ok, usage: undefined },
      { ...ok, usage: { input_tokens: -1 } },
      { type: "error", error: { type: "overloaded_error", message: "Overloaded" } },
      [],
      null
    ]
    for (const value of others) assert.isUndefined(plainResponse(value), JSON.stringify(value))
  })
})
