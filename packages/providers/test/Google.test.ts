import { assert, describe, it } from "@effect/vitest"
import { ChatChunk, ChatResponse } from "@modelgate/domain/Chat"
import { isUnreachable } from "@modelgate/domain/ProviderError"
import { ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import * as FakeGoogle from "@modelgate/testkit/FakeGoogle"
import * as LoopbackServer from "@modelgate/testkit/LoopbackServer"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect, Schema } from "effect"
import * as Google from "../src/Google.js"
import {
  adapterOver,
  assertFaultTags,
  assertRetryWaits,
  attemptsOf,
  collect,
  ctxOf,
  errorAfterRetries,
  keyOf,
  lastJson,
  lastRequest,
  live,
  modelOf,
  ownRateLimitError,
  postJson,
  tagAfterTimeout,
  tagOf,
  textOf,
  withSpanCapture
} from "./internal/fixtures.js"

const model = modelOf("google", "gemini-fake", "gemini-test")
const key = keyOf("google", FakeGoogle.defaultApiKey)

const setup = adapterOver(FakeGoogle.make, Google.make)

describe("Google Gemini adapter over a socket", () => {
  it.scoped("chat: path, key header, contents/systemInstruction/generationConfig; answer and usage normalised", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup({}, { usage: { cached: 2, thoughts: 3 } })
      const result = yield* provider.chat(ctxOf(model, key, {
        messages: [
          { role: "system", content: "be brief" },
          { role: "user", content: "hello there" },
          { role: "assistant", content: "hi" },
          { role: "user", content: "tell me" }
        ],
        temperature: 0.3,
        top_p: 0.9,
        max_tokens: 64,
        stop: ["END"],
        user: "dropped"
      }))
      const sent = yield* lastRequest(fake)
      assert.strictEqual(sent.method, "POST")
      assert.strictEqual(sent.path, "/v1beta/models/gemini-fake:generateContent")
      assert.strictEqual(sent.headers["x-goog-api-key"], FakeGoogle.defaultApiKey)
      assert.deepStrictEqual(sent.json, {
        contents: [
          { role: "user", parts: [{ text: "hello there" }] },
          { role: "model", parts: [{ text: "hi" }] },
          { role: "user", parts: [{ text: "tell me" }] }
        ],
        systemInstruction: { parts: [{ text: "be brief" }] },
        generationConfig: { temperature: 0.3, topP: 0.9, maxOutputTokens: 64, stopSequences: ["END"] }
      })
      const response = result.response
      assert.isTrue(Schema.is(ChatResponse)(response))
      assert.strictEqual(response.choices[0].message.content, "Echo: tell me")
      assert.strictEqual(response.choices[0].finish_reason, "stop")
      assert.strictEqual(response.id, "fake-1")
      assert.strictEqual(response.model, "gemini-fake")
      const json = sent.json as { systemInstruction: unknown; contents: unknown }
      const prompt = Math.ceil((JSON.stringify(json.systemInstruction) + JSON.stringify(json.contents)).length / 4)
      assert.deepStrictEqual(response.usage, {
        prompt_tokens: prompt,
        completion_tokens: 3 + 3,
        total_tokens: prompt + 6,
        prompt_tokens_details: { cached_tokens: 2 },
        completion_tokens_details: { reasoning_tokens: 3 }
      })
      assert.isUndefined(result.rateLimit)
    })))

  it.scoped("chat: maxOutputTokens cuts to length; JSON modes set responseMimeType and responseJsonSchema", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup()
      const capped = yield* provider.chat(ctxOf(model, key, { max_completion_tokens: 2, messages: [{ role: "user", content: "a b c d" }] }))
      assert.strictEqual(capped.response.choices[0].message.content, "Echo: a ")
      assert.strictEqual(capped.response.choices[0].finish_reason, "length")
      const schema = { type: "object", properties: { echo: { type: "string" } } }
      const json = yield* provider.chat(ctxOf(model, key, { response_format: { type: "json_schema", json_schema: { name: "x", schema } } }))
      assert.deepStrictEqual((yield* lastJson(fake)).generationConfig, { responseMimeType: "application/json", responseJsonSchema: schema })
      assert.deepStrictEqual(JSON.parse(json.response.choices[0].message.content ?? ""), { echo: "Echo: hello there" })
    })))

  it.scoped("tools round trip: functionDeclarations out, functionCall in, functionResponse named from the earlier call", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup()
      const parameters = { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
      const tools = [{ type: "function" as const, function: { name: "get_weather", description: "weather", parameters } }]
      const first = yield* provider.chat(ctxOf(model, key, {
        tools,
        tool_choice: { type: "function", function: { name: "get_weather" } },
        messages: [{ role: "user", content: "Paris" }]
      }))
      const sentFirst = yield* lastJson(fake)
      assert.deepStrictEqual(sentFirst.tools, [{ functionDeclarations: [{ name: "get_weather", description: "weather", parametersJsonSchema: parameters }] }])
      assert.deepStrictEqual(sentFirst.toolConfig, { functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["get_weather"] } })
      assert.strictEqual(first.response.choices[0].finish_reason, "tool_calls")
      assert.isNull(first.response.choices[0].message.content)
      const call = first.response.choices[0].message.tool_calls?.[0]
      assert.strictEqual(call?.function.name, "get_weather")
      assert.deepStrictEqual(JSON.parse(call?.function.arguments ?? ""), { city: "Paris" })
      const second = yield* provider.chat(ctxOf(model, key, {
        tools,
        messages: [
          { role: "user", content: "Paris" },
          { role: "assistant", content: null, tool_calls: [call!] },
          { role: "tool", tool_call_id: call!.id, content: "18C" }
        ]
      }))
      const contents = (yield* lastJson(fake)).contents as ReadonlyArray<unknown>
      assert.deepStrictEqual(contents[1], { role: "model", parts: [{ functionCall: { name: "get_weather", args: { city: "Paris" } } }] })
      assert.deepStrictEqual(contents[2], { role: "user", parts: [{ functionResponse: { name: "get_weather", response: { output: "18C" } } }] })
      assert.strictEqual(second.response.choices[0].message.content, "Tool said: {\"output\":\"18C\"}")
      assert.strictEqual(second.response.choices[0].finish_reason, "stop")
    })))

  it.scoped("images travel as inlineData", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup()
      yield* provider.chat(ctxOf(model, key, {
        messages: [{ role: "user", content: [{ type: "text", text: "what" }, { type: "image_url", image_url: { url: "data:image/jpeg;base64,/9j/4AAQ" } }] }]
      }))
      const contents = (yield* lastJson(fake)).contents as ReadonlyArray<{ parts: ReadonlyArray<unknown> }>
      assert.deepStrictEqual(contents[0]?.parts, [{ text: "what" }, { inlineData: { mimeType: "image/jpeg", data: "/9j/4AAQ" } }])
      assert.strictEqual(
        yield* tagOf(provider.chat(ctxOf(model, key, { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://x/y.png" } }] }] }))),
        "BadRequest"
      )
    })))

  it.scoped("the fake validates like the API: unknown fields and missing keys are rejected", () =>
    live(Effect.gen(function*() {
      const fake = yield* FakeGoogle.make()
      const send = (headers: Record<string, string>, body: unknown) =>
        postJson<{ error: { status: string; message: string } }>(`${fake.url}/v1beta/models/gemini-fake:generateContent`, headers, body)
      const body = { contents: [{ role: "user", parts: [{ text: "hi" }] }] }
      const auth = { "x-goog-api-key": fake.apiKey }
      const unknown = yield* send(auth, { ...body, temperature: 1 })
      assert.strictEqual(unknown.status, 400)
      assert.strictEqual(unknown.json.error.status, "INVALID_ARGUMENT")
      assert.include(unknown.json.error.message, "Unknown name \"temperature\"")
      const role = yield* send(auth, { contents: [{ role: "assistant", parts: [{ text: "x" }] }] })
      assert.strictEqual(role.status, 400)
      const noKey = yield* send({}, body)
      assert.strictEqual(noKey.status, 403)
      assert.strictEqual(noKey.json.error.status, "PERMISSION_DENIED")
      const ok = yield* send(auth, body)
      assert.strictEqual(ok.status, 200)
    })))

  it.scoped("classifies every error class, safety blocks included", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup({ timeoutMs: 1_000 }, { inputTokenLimit: 50, models: ["gemini-fake"] })
      const chat = () => provider.chat(ctxOf(model, key))
      const wrongKey = yield* Effect.flip(provider.chat(ctxOf(model, keyOf("google", "AIzaWrongKey1234567890"))))
      assert.strictEqual(wrongKey._tag, "Unauthorized")
      assert.strictEqual(wrongKey.status, 400)
      assert.notInclude(wrongKey.message, "AIzaWrongKey1234567890")
      assert.strictEqual(yield* tagOf(provider.chat(ctxOf(model, undefined))), "Unauthorized")
      // A model Gemini does not serve (retired, misspelt): the registry's, not the request's (fails over at once, not retried).
      const unknown = yield* Effect.flip(provider.chat(ctxOf(modelOf("google", "gemini-unknown"), key)))
      assert.isTrue(isUnreachable(unknown))
      assert.include(unknown.detail, "models/gemini-unknown is not found")
      assert.isTrue(isUnreachable(yield* Effect.flip(provider.stream(ctxOf(modelOf("google", "gemini-unknown"), key)))))
      const long = yield* Effect.flip(provider.chat(ctxOf(model, key, { messages: [{ role: "user", content: "x".repeat(400) }] })))
      assert.strictEqual(long._tag, "ContextLengthExceeded")
      const blocked = yield* Effect.flip(provider.chat(ctxOf(model, key, { messages: [{ role: "user", content: "[block-prompt] x" }] })))
      assert.strictEqual(blocked._tag, "ContentFiltered")
      assert.include(blocked.detail, "SAFETY")
      // An answer stopped before any text: a content_filter answer (GeminiAnswerBlocked.test.ts).
      const stopped = yield* provider.chat(ctxOf(model, key, { messages: [{ role: "user", content: "[block-answer]" }] }))
      assert.strictEqual(stopped.response.choices[0].finish_reason, "content_filter")
      const body = (finishReason: string) => ({ candidates: [{ content: { role: "model", parts: [{ text: "x" }] }, finishReason }] })
      const cases: ReadonlyArray<readonly [Fault, string]> = [
        [Fault.status(400), "BadRequest"],
        [Fault.status(401), "Unauthorized"],
        [Fault.status(403), "Unauthorized"],
        [Fault.status(404), "Transport"],
        [Fault.status(429), "RateLimited"],
        [Fault.status(500), "ServerError"],
        [Fault.status(503), "Overloaded"],
        [Fault.status(504), "Timeout"],
        [Fault.html(502), "ServerError"],
        [Fault.malformedJson(), "MalformedResponse"],
        [Fault.status(200, { body: body("MALFORMED_FUNCTION_CALL") }), "MalformedResponse"],
        [Fault.status(200, { body: body("NEW_REASON") }), "MalformedResponse"],
        [Fault.status(200, { body: { candidates: [] } }), "MalformedResponse"],
        [Fault.cut(), "MalformedResponse"],
        [Fault.reset(), "Transport"]
      ]
      yield* assertFaultTags(fake, chat, cases)
      yield* fake.script(Fault.status(200, { body: body("SAFETY") }))
      const partial = yield* chat()
      assert.strictEqual(partial.response.choices[0].finish_reason, "content_filter")
      yield* fake.script(Fault.status(503))
      const unavailable = yield* Effect.flip(chat())
      assert.include(unavailable.detail, "UNAVAILABLE")
      yield* fake.script(Fault.delay({ headersMs: 5_000 }))
      assert.strictEqual(yield* tagAfterTimeout(chat(), 1_000), "Timeout")
    })))

  it.scoped("RESOURCE_EXHAUSTED: RetryInfo.retryDelay is honoured (TestClock); a too-long delay returns at once", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup({ maxRetries: 3, maxRetryWaitMs: 10_000 })
      yield* fake.script(Fault.status(429, { body: FakeGoogle.errorBody(429, "quota", { retryDelayMs: 7_000 }) }))
      yield* assertRetryWaits(fake, provider.chat(ctxOf(model, key)), 7_000)
      yield* fake.reset
      yield* fake.script(Fault.status(429, { body: FakeGoogle.errorBody(429, "quota", { retryDelayMs: 30_000 }) }))
      const limited = yield* Effect.flip(provider.chat(ctxOf(model, key)))
      assert.strictEqual(limited._tag === "RateLimited" ? limited.retryAfterMs : 0, 30_000)
      assert.lengthOf(yield* fake.requests, 1)
    })))

  it.scoped("retries exhausted: the final error carries every attempt", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup({ maxRetries: 2 })
      yield* fake.persist(Fault.status(500))
      const error = yield* errorAfterRetries(provider.chat(ctxOf(model, key)), 2, (ms) => ms <= 10_000)
      assert.strictEqual(error._tag, "ServerError")
      assert.deepStrictEqual(attemptsOf(error), ["ServerError 500", "ServerError 500", "ServerError 500"])
      assert.lengthOf(yield* fake.requests, 3)
    })))

  it.scoped("stream: alt=sse chunks become OpenAI chunks; finish and usage at the end", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup()
      const result = yield* provider.stream(ctxOf(model, key, { messages: [{ role: "user", content: "one two three four" }] }))
      const chunks = yield* collect(result.chunks)
      assert.strictEqual((yield* lastRequest(fake)).path, "/v1beta/models/gemini-fake:streamGenerateContent?alt=sse")
      assert.isTrue(chunks.every(Schema.is(ChatChunk)))
      assert.deepStrictEqual(chunks[0]?.choices[0]?.delta, { role: "assistant", content: "" })
      assert.strictEqual(textOf(chunks), "Echo: one two three four")
      assert.strictEqual(chunks[chunks.length - 2]?.choices[0]?.finish_reason, "stop")
      const last = chunks[chunks.length - 1]
      assert.deepStrictEqual(last?.choices, [])
      assert.strictEqual(last?.usage?.completion_tokens, 5)
      assert.isUndefined(last?.usage?.estimated)
    })))

  it.scoped("stream: a function call arrives whole as one tool-call delta", () =>
    live(Effect.gen(function*() {
      const { provider } = yield* setup()
      const tools = [{ type: "function" as const, function: { name: "lookup", parameters: { type: "object", properties: { q: { type: "string" } }, required: ["q"] } } }]
      const chunks = yield* Effect.flatMap(provider.stream(ctxOf(model, key, { tools, messages: [{ role: "user", content: "answer" }] })), (r) => collect(r.chunks))
      const calls = chunks.flatMap((c) => c.choices.flatMap((ch) => ch.delta.tool_calls ?? []))
      assert.lengthOf(calls, 1)
      assert.strictEqual(calls[0]?.index, 0)
      assert.strictEqual(calls[0]?.function?.name, "lookup")
      assert.deepStrictEqual(JSON.parse(calls[0]?.function?.arguments ?? ""), { q: "answer" })
      assert.isTrue(chunks.some((c) => c.choices[0]?.finish_reason === "tool_calls"))
    })))

  it.scoped("stream: a cut, a reset, an error event and a block never end cleanly", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup()
      const run = (content = "one two three four five six") =>
        Effect.flatMap(provider.stream(ctxOf(model, key, { messages: [{ role: "user", content }] })), (r) => collect(r.chunks))
      yield* fake.script(Fault.cut())
      const cut = yield* Effect.flip(run())
      assert.strictEqual(cut._tag, "StreamInterrupted")
      assert.include(cut.detail, "finishReason")
      yield* fake.script(Fault.cut(0))
      assert.strictEqual(yield* tagOf(run()), "StreamInterrupted")
      yield* fake.script(Fault.reset(1))
      assert.strictEqual(yield* tagOf(run()), "StreamInterrupted")
      yield* fake.script(Fault.inject(1, FakeGoogle.errorEvent(503, "The model is overloaded.")))
      assert.strictEqual(yield* tagOf(run()), "Overloaded")
      yield* fake.script(Fault.inject(1, FakeGoogle.errorEvent(500, "Internal error")))
      assert.strictEqual(yield* tagOf(run()), "ServerError")
      assert.strictEqual(yield* tagOf(run("[block-prompt]")), "ContentFiltered")
      const stopped = yield* run("[block-answer]")
      assert.deepStrictEqual(stopped.flatMap((c) => c.choices.flatMap((ch) => (ch.finish_reason === null ? [] : [ch.finish_reason]))), ["content_filter"])
      yield* fake.script(Fault.status(429))
      assert.strictEqual(yield* tagOf(provider.stream(ctxOf(model, key))), "RateLimited")
    })))

  it.scoped("stream: a connection reset right after the chunk with finishReason and usage ends cleanly; one before any finishReason is StreamInterrupted", () =>
    live(Effect.gen(function*() {
      const textChunk = (text: string, finish?: string) => FakeGoogle.sseData({
        candidates: [{ content: { role: "model", parts: [{ text }] }, index: 0, ...(finish !== undefined ? { finishReason: finish } : {}) }],
        usageMetadata: { promptTokenCount: 3, candidatesTokenCount: finish !== undefined ? 4 : 2, totalTokenCount: finish !== undefined ? 7 : 5 },
        modelVersion: "gemini-fake-001",
        responseId: "r1"
      })
      // Each path: its events, written out (flushed to the socket), then the connection reset.
      const bodies: Record<string, ReadonlyArray<string>> = {
        "finished": [textChunk("Hello "), textChunk("there", "STOP")],
        "length": [textChunk("Hello "), textChunk("the", "MAX_TOKENS")],
        "unfinished": [textChunk("Hello "), textChunk("the")]
      }
      const server = yield* LoopbackServer.make(({ path }, res) => {
        const events = bodies[/^\/v1beta\/models\/([^/:]+):/.exec(path)?.[1] ?? ""] ?? []
        res.writeHead(200, { "content-type": "text/event-stream" })
        res.write(events.join(""), () => res.socket?.destroy())
      })
      const provider = yield* Google.make(Effect.succeed(ProviderConfig.make({ baseUrl: server.url, maxRetries: 0 })))
      const run = (name: string) =>
        Effect.flatMap(provider.stream(ctxOf(modelOf("google", name, `gemini-${name}`), key)), (r) => collect(r.chunks))
      const chunks = yield* run("finished")
      assert.strictEqual(textOf(chunks), "Hello there")
      assert.strictEqual(chunks[chunks.length - 2]?.choices[0]?.finish_reason, "stop")
      assert.deepStrictEqual(chunks[chunks.length - 1]?.usage, { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7, prompt_tokens_details: { cached_tokens: 0 } })
      const cutAtLength = yield* run("length")
      assert.strictEqual(cutAtLength[cutAtLength.length - 2]?.choices[0]?.finish_reason, "length")
      const unfinished = yield* Effect.flip(run("unfinished"))
      assert.strictEqual(unfinished._tag, "StreamInterrupted")
      assert.include(unfinished.detail, "body broke")
    })))

  it.scoped("the fake's own rate limit answers with this provider's 429; a wait over maxRetryWaitMs comes back at once", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup({ maxRetries: 3, maxRetryWaitMs: 5_000 })
      yield* ownRateLimitError(fake, () => provider.chat(ctxOf(model, key)), 5_000)
      assert.strictEqual(yield* fake.rateLimitedCount, 1)
    })))

  it.scoped("the key never reaches HTTP client span attributes", () =>
    live(Effect.gen(function*() {
      const { provider } = yield* setup()
      const { attributes } = yield* withSpanCapture(Effect.zipRight(
        provider.chat(ctxOf(model, key)),
        Effect.flatMap(provider.stream(ctxOf(model, key)), (r) => collect(r.chunks))
      ))
      assert.isTrue(attributes.some(([name]) => name === "http.request.header.x-goog-api-key"))
      assert.isFalse(attributes.some(([, value]) => String(value).includes(FakeGoogle.defaultApiKey)))
    })))

  it.scoped("probe reads the model's metadata without spending tokens", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup({}, { models: ["gemini-fake"] })
      const ok = yield* provider.probe(model, key)
      assert.isTrue(ok.ok)
      const sent = yield* lastRequest(fake)
      assert.strictEqual(sent.method, "GET")
      assert.strictEqual(sent.path, "/v1beta/models/gemini-fake")
      const missing = yield* provider.probe(modelOf("google", "models/gemini-unknown"), key)
      assert.isTrue(missing.error !== undefined && isUnreachable(missing.error))
      assert.strictEqual((yield* lastRequest(fake)).path, "/v1beta/models/gemini-unknown")
      assert.strictEqual((yield* provider.probe(model, keyOf("google", "AIzaNopeNopeNope000"))).error?._tag, "Unauthorized")
    })))
})
