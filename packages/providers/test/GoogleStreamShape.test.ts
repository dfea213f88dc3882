import * as FakeGoogle from "@modelgate/testkit/FakeGoogle"
import { Headers, HttpClient, HttpClientRequest } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Schema } from "effect"
import * as fc from "fast-check"
import { GeminiResponse } from "../src/Google/Response.js"
import { plainResponse } from "../src/Google/shape.js"
import { GeminiStreamTranslator } from "../src/Google/Stream.js"
import { candidate, usageMetadata } from "./internal/googleArbitraries.js"
import { live } from "./internal/fixtures.js"
import { anyValue, assertHeldToSchema, count, mostly, optional, rare } from "./internal/wireArbitraries.js"

const decode = Schema.decodeUnknownEither(Schema.parseJson(GeminiResponse))

/**
 * A streamed event: new parts of one candidate, a running usage total,
 * `responseId` / `modelVersion` repeated, the finish reason on the last one;
 * now and then an `error` event or any value.
 */
const event = fc.oneof(
  {
    arbitrary: fc.record({
      candidates: mostly(fc.array(candidate, { minLength: 1, maxLength: 1 })),
      usageMetadata: optional(usageMetadata),
      modelVersion: mostly(fc.constant("gemini-2.5-flash")),
      responseId: mostly(fc.string({ maxLength: 6 }))
    }, { requiredKeys: [] }),
    weight: 10
  },
  {
    arbitrary: fc.record({ error: mostly(fc.record({ code: count, message: fc.string({ maxLength: 6 }), status: rare(fc.constant("UNAVAILABLE")) })) }),
    weight: 1
  },
  { arbitrary: anyValue, weight: 1 }
)

/** The `data:` of each event of an SSE body (CRLF line endings, as Gemini writes them). */
const eventData = (body: string): Array<string> =>
  body.split(/\r?\n\r?\n/).flatMap((block) => block.split(/\r?\n/).filter((line) => line.startsWith("data: ")).map((line) => line.slice(6)))

/** A streamed answer of the fake Gemini, fetched over HTTP: its events' data. */
const fakeStream = (baseUrl: string, body: Record<string, unknown>) =>
  Effect.flatMap(HttpClient.HttpClient, (client) =>
    Effect.flatMap(
      client.execute(
        HttpClientRequest.post(`${baseUrl}/v1beta/models/gemini-fake:streamGenerateContent?alt=sse`).pipe(
          HttpClientRequest.setHeaders({ "x-goog-api-key": FakeGoogle.defaultApiKey }),
          HttpClientRequest.bodyUnsafeJson(body)
        )
      ),
      (res) => Effect.map(res.text, eventData)
    ))

const user = (text: string) => [{ role: "user", parts: [{ text }] }]

const translator = () =>
  new GeminiStreamTranslator({
    provider: "google",
    info: { model: "google/gemini-fake", keyId: undefined, secrets: [] },
    meta: { status: 200, headers: Headers.empty, requestId: undefined, rateLimit: undefined },
    nowMs: 1_700_000_000_000,
    model: "gemini-fake",
    promptTokensEstimate: () => 0
  })

const sse = (data: string) => ({ _tag: "Event", event: "message", id: undefined, data }) as const

describe("Gemini stream event fast path", () => {
  it("accepts only events the Schema accepts, decoded to the same value", () => {
    assertHeldToSchema(event, plainResponse, decode, { numRuns: 10_000, minAccepted: 2000, minRejected: 1000 })
  })

  it.scoped("takes the fake Gemini's streamed text events without the Schema; a function-call event goes to the Schema and still translates", () =>
    live(Effect.gen(function*() {
      const fake = yield* FakeGoogle.make()
      let events = 0
      for (const body of [{ contents: user("hello there, how are you") }, { contents: user("a long answer please"), generationConfig: { maxOutputTokens: 1 } }]) {
        const datas = yield* fakeStream(fake.baseUrl, body)
        for (const data of datas) {
          const plain = plainResponse(JSON.parse(data))
          assert.isDefined(plain, data)
          assert.deepStrictEqual(plain, Either.getOrThrow(decode(data)))
          events++
        }
      }
      assert.isAbove(events, 3)
      const tools = [{ functionDeclarations: [{ name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } }] }]
      const datas = yield* fakeStream(fake.baseUrl, { contents: user("weather in Paris?"), tools })
      const slow = datas.filter((data) => plainResponse(JSON.parse(data)) === undefined)
      assert.isAbove(slow.length, 0)
      for (const data of slow) assert.match(data, /functionCall/)
      // The translator reads both kinds: the answer ends as a tool call.
      const t = translator()
      const chunks = datas.flatMap((data) => [...Either.getOrThrow(t.push(sse(data)))])
      const finish = Either.getOrThrow(t.end())
      assert.strictEqual(chunks.flatMap((c) => c.choices.flatMap((ch) => ch.delta.tool_calls ?? [])).at(0)?.function?.name, "get_weather")
      assert.strictEqual(finish[0]?.choices[0]?.finish_reason, "tool_calls")
    })))

  it("translates everyday events read by the fast path as before: text, finish, running usage", () => {
    const t = translator()
    const events = [
      { candidates: [{ content: { role: "model", parts: [{ text: "Hel" }] }, index: 0 }], usageMetadata: { promptTokenCount: 4, totalTokenCount: 4 }, modelVersion: "gemini-2.5-flash", responseId: "r1" },
      { candidates: [{ content: { role: "model", parts: [{ text: "lo", thoughtSignature: "sig" }] }, finishReason: "STOP", index: 0 }], usageMetadata: { promptTokenCount: 4, candidatesTokenCount: 2, thoughtsTokenCount: 1, totalTokenCount: 7 }, modelVersion: "gemini-2.5-flash", responseId: "r1" }
    ].map((e) => JSON.stringify(e))
    for (const data of events) assert.isDefined(plainResponse(JSON.parse(data)))
    const chunks = events.flatMap((data) => [...Either.getOrThrow(t.push(sse(data)))])
    const end = Either.getOrThrow(t.end())
    assert.deepStrictEqual(chunks.map((c) => c.choices[0]?.delta.content), ["", "Hel", "lo"])
    assert.deepStrictEqual(chunks.map((c) => [c.id, c.model]), [["r1", "gemini-2.5-flash"], ["r1", "gemini-2.5-flash"], ["r1", "gemini-2.5-flash"]])
    assert.strictEqual(end[0]?.choices[0]?.finish_reason, "stop")
    assert.deepStrictEqual(end[1]?.usage, {
      prompt_tokens: 4,
      completion_tokens: 3,
      total_tokens: 7,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 1 }
    })
  })

  it("still classifies an error event and still refuses an undecodable one", () => {
    const failed = translator().push(sse(JSON.stringify({ error: { code: 503, message: "The model is overloaded.", status: "UNAVAILABLE" } })))
    assert.isTrue(Either.isLeft(failed))
    if (Either.isLeft(failed)) assert.strictEqual(failed.left._tag, "Overloaded")
    const odd = translator().push(sse(JSON.stringify({ candidates: [{ index: "0" }] })))
    assert.isTrue(Either.isLeft(odd))
    if (Either.isLeft(odd)) {
      assert.strictEqual(odd.left._tag, "MalformedResponse")
      assert.include(odd.left.message, "undecodable stream event")
    }
  })
})
