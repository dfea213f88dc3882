import * as FakeOllama from "@modelgate/testkit/FakeOllama"
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Schema } from "effect"
import * as fc from "fast-check"
import { plainChatLine } from "../src/Ollama/shape.js"
import { WireChatLine } from "../src/Ollama/wire.js"
import { live } from "./internal/fixtures.js"
import { chatLineOrAny } from "./internal/ollamaArbitraries.js"
import { assertHeldToSchema } from "./internal/wireArbitraries.js"

const decode = Schema.decodeUnknownEither(Schema.parseJson(WireChatLine))

/** An `/api/chat` answer of the fake Ollama, fetched over HTTP: its body (one object, or NDJSON lines). */
const fakeChat = (baseUrl: string, body: Record<string, unknown>) =>
  Effect.flatMap(HttpClient.HttpClient, (client) =>
    Effect.flatMap(client.execute(HttpClientRequest.post(`${baseUrl}/api/chat`).pipe(HttpClientRequest.bodyUnsafeJson(body))), (res) => res.text))

const user = (content: string) => [{ role: "user", content }]
const tools = [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { input: { type: "string" } } } } }]

/** Holds the fast path to the Schema on `json`, and says it took it. */
const assertFast = (json: string) => {
  const plain = plainChatLine(JSON.parse(json))
  assert.isDefined(plain, json)
  assert.deepStrictEqual(plain, Either.getOrThrow(decode(json)))
  assert.strictEqual(JSON.stringify(plain), JSON.stringify(Either.getOrThrow(decode(json))))
}

describe("Ollama answer fast path", () => {
  it("accepts only complete answers the Schema accepts, decoded to the same value", () => {
    assertHeldToSchema(chatLineOrAny(fc.constant(true)), plainChatLine, decode, { numRuns: 5000, minAccepted: 1000, minRejected: 500 })
  })

  it("accepts only stream lines the Schema accepts, decoded to the same value", () => {
    assertHeldToSchema(chatLineOrAny(fc.boolean()), plainChatLine, decode, { numRuns: 10_000, minAccepted: 2000, minRejected: 1000 })
  })

  it.scoped("takes the fake Ollama's answers and stream lines (text, length, tool calls) without the Schema", () =>
    live(Effect.gen(function*() {
      const fake = yield* FakeOllama.make()
      const bodies = [
        { model: "llama3.2", messages: user("hello there") },
        { model: "llama3.2", messages: user("a long answer please"), options: { num_predict: 1 } },
        { model: "llama3.2", messages: user("call get_weather for Paris"), tools }
      ]
      const reasons: Array<string | undefined> = []
      let lines = 0
      let calls = 0
      for (const body of bodies) {
        const answer = yield* fakeChat(fake.url, { ...body, stream: false })
        assertFast(answer)
        const plain = plainChatLine(JSON.parse(answer))
        reasons.push(plain?.done_reason)
        calls += plain?.message?.tool_calls?.length ?? 0
        const streamed = yield* fakeChat(fake.url, body)
        for (const line of streamed.split("\n").filter((l) => l !== "")) {
          assertFast(line)
          lines++
        }
      }
      assert.deepStrictEqual(reasons, ["stop", "length", "stop"])
      assert.strictEqual(calls, 1)
      assert.isAbove(lines, 6)
    })))

  it("drops the durations and unknown keys and keeps the Schema's key order", () => {
    const wire = {
      eval_count: 18,
      done_reason: "stop",
      done: true,
      total_duration: 3244883583,
      message: { tool_calls: [{ function: { arguments: { city: "Tokyo" }, name: "get_weather", index: 0 }, id: "c1" }], content: "", role: "assistant" },
      created_at: "2025-07-07T20:32:53.84Z",
      model: "llama3.2",
      prompt_eval_count: 169
    }
    assert.strictEqual(
      JSON.stringify(plainChatLine(wire)),
      JSON.stringify({
        model: "llama3.2",
        created_at: "2025-07-07T20:32:53.84Z",
        message: { role: "assistant", content: "", tool_calls: [{ id: "c1", function: { index: 0, name: "get_weather", arguments: { city: "Tokyo" } } }] },
        done: true,
        done_reason: "stop",
        prompt_eval_count: 169,
        eval_count: 18
      })
    )
  })

  it("leaves error lines, odd shapes and wrong types to the Schema", () => {
    const ok = { model: "llama3.2", message: { role: "assistant", content: "x" }, done: true, done_reason: "stop", prompt_eval_count: 1, eval_count: 2 }
    assert.isDefined(plainChatLine(ok))
    const others: ReadonlyArray<unknown> = [
      { error: "an error was encountered while running the model: unexpected EOF" },
      { ...ok, error: "x" },
      { ...ok, model: null },
      { ...ok, created_at: 1 },
      { ...ok, done: "true" },
      { ...ok, done_reason: null },
      { ...ok, prompt_eval_count: -1 },
      { ...ok, eval_count: 1.5 },
      { ...ok, eval_count: 2 ** 53 },
      { ...ok, message: null },
      { ...ok, message: { content: 1 } },
      { ...ok, message: { thinking: null } },
      { ...ok, message: { tool_calls: {} } },
      { ...ok, message: { tool_calls: [{ function: { arguments: {} } }] } },
      { ...ok, message: { tool_calls: [{ id: 1, function: { name: "f" } }] } },
      { ...ok, message: { tool_calls: [{ function: { name: "f", index: -1 } }] } },
      { ...ok, message: { tool_calls: [null] } },
      [],
      "x",
      null
    ]
    for (const value of others) assert.isUndefined(plainChatLine(value), JSON.stringify(value))
  })
})
