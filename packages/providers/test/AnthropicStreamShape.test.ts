import * as FakeAnthropic from "@modelgate/testkit/FakeAnthropic"
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Schema } from "effect"
import * as fc from "fast-check"
import { plainStreamEvent } from "../src/Anthropic/shape.js"
import { AnthropicStreamEvent } from "../src/Anthropic/Stream.js"
import { live } from "./internal/fixtures.js"
import { anyValue, assertHeldToSchema, count, mostly, optional, rare } from "./internal/wireArbitraries.js"
import { usage } from "./internal/anthropicArbitraries.js"

const decode = Schema.decodeUnknownEither(Schema.parseJson(AnthropicStreamEvent))


const messageStart = fc.record({
  type: fc.constant("message_start"),
  message: mostly(fc.record({
    id: mostly(fc.string({ maxLength: 6 })),
    type: optional(fc.constant("message")),
    role: optional(fc.constant("assistant")),
    model: mostly(fc.string({ maxLength: 6 })),
    content: optional(fc.constant([])),
    stop_reason: optional(fc.constant(null)),
    usage: optional(usage)
  }, { requiredKeys: ["id", "model"] }))
})
const blockStart = fc.record({
  type: fc.constant("content_block_start"),
  index: mostly(count),
  content_block: mostly(fc.record({
    type: mostly(fc.constantFrom("text", "tool_use", "thinking")),
    id: rare(fc.string({ maxLength: 4 })),
    name: rare(fc.string({ maxLength: 4 })),
    text: optional(fc.string({ maxLength: 6 })),
    input: rare(fc.constant({}))
  }, { requiredKeys: ["type"] }))
})
const blockDelta = fc.record({
  type: fc.constant("content_block_delta"),
  index: mostly(count),
  delta: mostly(fc.record({
    type: mostly(fc.constantFrom("text_delta", "text_delta", "input_json_delta", "thinking_delta")),
    text: mostly(fc.string({ maxLength: 6 })),
    partial_json: rare(fc.string({ maxLength: 6 })),
    thinking: rare(fc.string({ maxLength: 4 }))
  }, { requiredKeys: ["type"] }))
})
const messageDelta = fc.record({
  type: fc.constant("message_delta"),
  delta: mostly(fc.record({
    stop_reason: optional(fc.constantFrom("end_turn", "max_tokens", "tool_use", null)),
    stop_sequence: optional(fc.constant(null))
  }, { requiredKeys: [] })),
  usage: optional(usage)
}, { requiredKeys: ["type", "delta"] })
const simple = fc.record({
  type: fc.constantFrom("content_block_stop", "message_stop", "ping", "error", "weird"),
  index: optional(count),
  error: optional(fc.record({ type: mostly(fc.string({ maxLength: 4 })), message: optional(fc.string({ maxLength: 4 })) }))
}, { requiredKeys: ["type"] })
const event = fc.oneof(
  { arbitrary: messageStart, weight: 3 },
  { arbitrary: blockStart, weight: 3 },
  { arbitrary: blockDelta, weight: 3 },
  { arbitrary: messageDelta, weight: 3 },
  { arbitrary: simple, weight: 2 },
  { arbitrary: anyValue, weight: 1 }
)

/** The `data:` of each event of an SSE body. */
const eventData = (body: string): Array<string> =>
  body.split("\n\n").flatMap((block) => block.split("\n").filter((line) => line.startsWith("data: ")).map((line) => line.slice(6)))

/** A streamed answer of the fake Anthropic, fetched over HTTP: its events' data. */
const fakeStream = (baseUrl: string, body: Record<string, unknown>) =>
  Effect.flatMap(HttpClient.HttpClient, (client) =>
    Effect.flatMap(
      client.execute(
        HttpClientRequest.post(`${baseUrl}/v1/messages`).pipe(
          HttpClientRequest.setHeaders({ "x-api-key": FakeAnthropic.defaultApiKey, "anthropic-version": "2023-06-01" }),
          HttpClientRequest.bodyUnsafeJson({ ...body, stream: true })
        )
      ),
      (res) => Effect.map(res.text, eventData)
    ))

describe("Anthropic stream event fast path", () => {
  it("accepts only events the Schema accepts, decoded to the same value", () => {
    assertHeldToSchema(event, plainStreamEvent, decode, { numRuns: 10_000, minAccepted: 2000, minRejected: 1000 })
  })

  it.scoped("takes the fake Anthropic's streamed text answers without the Schema; tool-use blocks go to the Schema", () =>
    live(Effect.gen(function*() {
      const fake = yield* FakeAnthropic.make()
      const user = (content: string) => [{ role: "user", content }]
      const tools = [{ name: "get_weather", input_schema: { type: "object" } }]
      const text = [
        { model: "claude-fake-1", max_tokens: 100, messages: user("hello there") },
        { model: "claude-fake-1", max_tokens: 1, messages: user("a long answer please") }
      ]
      const types: Array<string> = []
      for (const body of text) {
        const events = yield* fakeStream(fake.url, body)
        for (const data of events) {
          const plain = plainStreamEvent(JSON.parse(data))
          assert.isDefined(plain, data)
          assert.deepStrictEqual(plain, Either.getOrThrow(decode(data)))
          types.push(plain?.type ?? "")
        }
      }
      // Every everyday event type is among them.
      assert.deepStrictEqual(
        [...new Set(types)].sort(),
        ["content_block_delta", "content_block_start", "content_block_stop", "message_delta", "message_start", "message_stop", "ping"]
      )
      const toolEvents = yield* fakeStream(fake.url, { model: "claude-fake-1", max_tokens: 100, messages: user("weather?"), tools })
      const slow = toolEvents.filter((data) => plainStreamEvent(JSON.parse(data)) === undefined)
      assert.isAbove(slow.length, 0)
      for (const data of slow) {
        assert.match(data, /tool_use|input_json_delta/)
        assert.isTrue(Either.isRight(decode(data)), data)
      }
      for (const data of toolEvents) {
        const plain = plainStreamEvent(JSON.parse(data))
        if (plain !== undefined) assert.deepStrictEqual(plain, Either.getOrThrow(decode(data)))
      }
    })))

  it("leaves tool use, thinking, errors, odd shapes and wrong types to the Schema", () => {
    const others: ReadonlyArray<unknown> = [
      { type: "content_block_start", index: 1, content_block: { type: "tool_use", id: "t", name: "f", input: {} } },
      { type: "content_block_start", index: 0, content_block: { type: "thinking", thinking: "" } },
      { type: "content_block_delta", index: 1, delta: { type: "input_json_delta", partial_json: "{" } },
      { type: "content_block_delta", index: 0, delta: { type: "thinking_delta", thinking: "hm" } },
      { type: "content_block_delta", index: 0, delta: { type: "text_delta" } },
      { type: "content_block_delta", index: -1, delta: { type: "text_delta", text: "x" } },
      { type: "content_block_delta", index: 0.5, delta: { type: "text_delta", text: "x" } },
      { type: "content_block_start", index: 0, content_block: { type: "text", text: 3 } },
      { type: "message_start", message: { id: "m", model: 1 } },
      { type: "message_start", message: { id: "m", model: "c", usage: { input_tokens: -1 } } },
      { type: "message_start", message: { id: "m", model: "c", usage: { input_tokens: 2 ** 53 } } },
      { type: "message_delta", delta: { stop_reason: 1 } },
      { type: "message_delta", delta: {}, usage: null },
      { type: "message_delta", delta: {}, usage: { output_tokens_details: { thinking_tokens: "1" } } },
      { type: "error", error: { type: "overloaded_error", message: "Overloaded" } },
      { type: "weird" },
      [],
      "x",
      null,
      undefined
    ]
    for (const value of others) assert.isUndefined(plainStreamEvent(value), JSON.stringify(value))
  })
})
