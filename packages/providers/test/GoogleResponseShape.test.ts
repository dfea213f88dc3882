import * as FakeGoogle from "@modelgate/testkit/FakeGoogle"
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Schema } from "effect"
import { GeminiResponse } from "../src/Google/Response.js"
import { plainResponse } from "../src/Google/shape.js"
import { responseOrAny } from "./internal/googleArbitraries.js"
import { live } from "./internal/fixtures.js"
import { assertHeldToSchema } from "./internal/wireArbitraries.js"

const decode = Schema.decodeUnknownEither(Schema.parseJson(GeminiResponse))

/** A user turn of a generateContent body. */
const user = (text: string) => [{ role: "user", parts: [{ text }] }]

/** A complete answer of the fake Gemini, fetched over HTTP: its body. */
const fakeAnswer = (baseUrl: string, body: Record<string, unknown>) =>
  Effect.flatMap(HttpClient.HttpClient, (client) =>
    Effect.flatMap(
      client.execute(
        HttpClientRequest.post(`${baseUrl}/v1beta/models/gemini-fake:generateContent`).pipe(
          HttpClientRequest.setHeaders({ "x-goog-api-key": FakeGoogle.defaultApiKey }),
          HttpClientRequest.bodyUnsafeJson(body)
        )
      ),
      (res) => res.text
    ))

describe("Gemini response fast path", () => {
  it("accepts only responses the Schema accepts, decoded to the same value", () => {
    assertHeldToSchema(responseOrAny, plainResponse, decode, { numRuns: 5000, minAccepted: 1000, minRejected: 500 })
  })

  it.scoped("takes the fake Gemini's text, length, blocked and thinking answers without the Schema; a function call goes to the Schema", () =>
    live(Effect.gen(function*() {
      const fake = yield* FakeGoogle.make({ usage: { cached: 3, thoughts: 2 } })
      const seen: Array<string> = []
      for (
        const body of [
          { contents: user("hello there") },
          { contents: user("a long answer please"), generationConfig: { maxOutputTokens: 1 } },
          { contents: user("[block-prompt] hi") },
          { contents: user("[block-answer] hi") }
        ]
      ) {
        const data = yield* fakeAnswer(fake.baseUrl, body)
        const plain = plainResponse(JSON.parse(data))
        assert.isDefined(plain, data)
        assert.deepStrictEqual(plain, Either.getOrThrow(decode(data)))
        seen.push(plain?.candidates?.[0]?.finishReason ?? plain?.promptFeedback?.blockReason ?? "")
      }
      assert.deepStrictEqual(seen, ["STOP", "MAX_TOKENS", "SAFETY", "SAFETY"])
      const tools = [{ functionDeclarations: [{ name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } }] }]
      const data = yield* fakeAnswer(fake.baseUrl, { contents: user("weather in Paris?"), tools })
      assert.match(data, /functionCall/)
      assert.isUndefined(plainResponse(JSON.parse(data)), data)
      assert.isTrue(Either.isRight(decode(data)), data)
    })))

  it("drops unknown keys and keeps the Schema's key order", () => {
    const wire = {
      responseId: "r",
      modelVersion: "gemini-2.5-flash",
      usageMetadata: {
        totalTokenCount: 5,
        cacheTokensDetails: [{ modality: "AUDIO", tokenCount: 1, extra: 0 }],
        trafficType: "ON_DEMAND",
        promptTokensDetails: [{ tokenCount: 3, modality: "TEXT" }],
        promptTokenCount: 3,
        candidatesTokenCount: 2
      },
      candidates: [{ index: 0, safetyRatings: [], finishReason: "STOP", content: { parts: [{ thoughtSignature: "s", text: "hi" }], role: "model" } }]
    }
    const plain = plainResponse(wire)
    assert.strictEqual(
      JSON.stringify(plain),
      JSON.stringify({
        candidates: [{ content: { role: "model", parts: [{ text: "hi", thoughtSignature: "s" }] }, finishReason: "STOP", index: 0 }],
        usageMetadata: {
          promptTokenCount: 3,
          candidatesTokenCount: 2,
          totalTokenCount: 5,
          promptTokensDetails: [{ modality: "TEXT", tokenCount: 3 }],
          cacheTokensDetails: [{ modality: "AUDIO", tokenCount: 1 }]
        },
        modelVersion: "gemini-2.5-flash",
        responseId: "r"
      })
    )
  })

  it("leaves function calls, errors, odd shapes and wrong types to the Schema", () => {
    const ok = {
      candidates: [{ content: { role: "model", parts: [{ text: "x" }] }, finishReason: "STOP", index: 0 }],
      usageMetadata: { promptTokenCount: 1, candidatesTokenCount: 1, totalTokenCount: 2 },
      modelVersion: "m",
      responseId: "r"
    }
    assert.isDefined(plainResponse(ok))
    const others: ReadonlyArray<unknown> = [
      { ...ok, candidates: [{ content: { parts: [{ functionCall: { name: "f", args: { a: 1 } } }] }, finishReason: "STOP" }] },
      { ...ok, candidates: [{ content: { parts: [{ text: 1 }] } }] },
      { ...ok, candidates: [{ content: { parts: [{ text: "x", thought: "yes" }] } }] },
      { ...ok, candidates: [{ content: { parts: [null] } }] },
      { ...ok, candidates: [{ content: { parts: {} } }] },
      { ...ok, candidates: [{ content: null }] },
      { ...ok, candidates: [{ finishReason: null }] },
      { ...ok, candidates: [{ index: -1 }] },
      { ...ok, candidates: [{ index: 0.5 }] },
      { ...ok, candidates: {} },
      { ...ok, candidates: null },
      { ...ok, promptFeedback: { blockReason: 1 } },
      { ...ok, usageMetadata: { promptTokenCount: 2 ** 53 } },
      { ...ok, usageMetadata: { totalTokenCount: "2" } },
      { ...ok, usageMetadata: null },
      { ...ok, modelVersion: null },
      { ...ok, responseId: 1 },
      { error: { code: 500, message: "Internal error", status: "INTERNAL" } },
      [],
      "x",
      null
    ]
    for (const value of others) assert.isUndefined(plainResponse(value), JSON.stringify(value))
  })
})
