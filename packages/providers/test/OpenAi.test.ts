import { ChatChunk, ChatResponse } from "@modelgate/domain/Chat"
import { endpointEvidence } from "@modelgate/domain/ProviderError"
import { Fault } from "@modelgate/testkit/FakeServer"
import * as FakeOpenAi from "@modelgate/testkit/FakeOpenAi"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Schema, Stream } from "effect"
import * as fc from "fast-check"
import * as OpenAi from "../src/OpenAi.js"
import { classifyStatus } from "../src/internal/errors.js"
import { classify } from "../src/OpenAi/errors.js"
import * as OpenAiWire from "../src/OpenAi/wire.js"
import {
  adapterOver,
  answeredCall,
  assertFaultTags,
  assertRetryWaits,
  attemptsOf,
  collect,
  ctxOf,
  errorAfterRetries,
  errorContextOf,
  keyOf,
  lastJson,
  live,
  modelOf,
  ownRateLimitError,
  tagAfterTimeout,
  tagOf,
  textOf
} from "./internal/fixtures.js"

const model = modelOf("openai", "gpt-4o-mini", "fast-chat")
const key = keyOf("openai", "sk-test-openai")

const setup = adapterOver(FakeOpenAi.make, OpenAi.make, (fake) => fake.baseUrl)

describe("OpenAi", () => {
  it.scoped("chat: formats the request and normalises the answer, usage and rate-limit headers", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup()
      const result = yield* provider.chat(ctxOf(model, key, { temperature: 0.2, max_tokens: 100, stream: false, user: "u1" }))
      const [sent] = yield* fake.requests
      assert.strictEqual(sent?.method, "POST")
      assert.strictEqual(sent?.path, "/v1/chat/completions")
      assert.strictEqual(sent?.headers["authorization"], "Bearer sk-test-openai")
      assert.deepStrictEqual(sent?.json, {
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "hello there" }],
        temperature: 0.2,
        max_tokens: 100,
        user: "u1"
      })
      assert.isTrue(Schema.is(ChatResponse)(result.response))
      assert.strictEqual(result.response.choices[0].message.content, "fake openai answer to: hello there")
      assert.strictEqual(result.response.choices[0].finish_reason, "stop")
      assert.deepStrictEqual(result.response.usage, {
        prompt_tokens: 4,
        completion_tokens: 9,
        total_tokens: 13,
        prompt_tokens_details: { cached_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0 }
      })
      assert.strictEqual(result.providerRequestId, "req_1")
      assert.strictEqual(result.rateLimit?.limitRequests, 10_000)
      assert.strictEqual(result.rateLimit?.remainingRequests, 9_999)
      assert.strictEqual(result.rateLimit?.resetRequestsMs, 6)
      assert.strictEqual(result.rateLimit?.resetTokensMs, 1_000)
    })))

  it.scoped("tool_choice and parallel_tool_calls without tools are left out (OpenAI, like the fake, refuses them there)", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup()
      const result = yield* provider.chat(ctxOf(model, key, { tool_choice: "auto", parallel_tool_calls: false }))
      assert.strictEqual(result.response.choices[0].finish_reason, "stop")
      assert.notProperty(yield* lastJson(fake), "parallel_tool_calls")
      // An empty tool list (frameworks send one for an agent without tools) is no list: OpenAI refuses `tools: []`.
      const empty = yield* provider.chat(ctxOf(model, key, { tools: [], tool_choice: "auto" }))
      assert.strictEqual(empty.response.choices[0].finish_reason, "stop")
      assert.notProperty(yield* lastJson(fake), "tools")
    })))

  it.scoped("tools round trip and response_format pass through", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup()
      const tools = [{ type: "function" as const, function: { name: "get_weather", parameters: { type: "object" } } }]
      const first = yield* provider.chat(ctxOf(model, key, { tools, messages: [{ role: "user", content: "get_weather for Paris" }] }))
      const call = first.response.choices[0].message.tool_calls?.[0]
      assert.strictEqual(first.response.choices[0].finish_reason, "tool_calls")
      assert.strictEqual(call?.function.name, "get_weather")
      assert.deepStrictEqual(JSON.parse(call?.function.arguments ?? ""), { input: "get_weather for Paris" })
      assert.deepStrictEqual((yield* lastJson(fake)).tools, tools)
      const second = yield* provider.chat(ctxOf(model, key, {
        tools,
        messages: [
          { role: "user", content: "get_weather for Paris" },
          { role: "assistant", content: null, tool_calls: [call!] },
          { role: "tool", tool_call_id: call!.id, content: "18C and sunny" }
        ]
      }))
      assert.strictEqual(second.response.choices[0].message.content, "Tool result received: 18C and sunny")
      assert.deepStrictEqual(((yield* lastJson(fake)).messages as Array<unknown>)[2], { role: "tool", tool_call_id: call!.id, content: "18C and sunny" })
      // A tool call another provider named with a longer id than OpenAI takes (40): sent shortened, and still answered.
      const foreign = { ...call!, id: `call_${"g".repeat(50)}` }
      const third = yield* provider.chat(ctxOf(model, key, { tools, messages: answeredCall("get_weather for Paris", foreign, "18C and sunny") }))
      assert.strictEqual(third.response.choices[0].message.content, "Tool result received: 18C and sunny")
      const json = yield* provider.chat(ctxOf(model, key, { response_format: { type: "json_object" }, messages: [{ role: "user", content: "answer in JSON" }, { role: "user", content: "hello there" }] }))
      assert.deepStrictEqual((yield* lastJson(fake)).response_format, { type: "json_object" })
      assert.deepStrictEqual(JSON.parse(json.response.choices[0].message.content ?? ""), { answer: "fake openai answer to: hello there" })
    })))

  it.scoped("stream: always asks for usage upstream; chunks translate; the last chunk carries usage", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup()
      const result = yield* provider.stream(ctxOf(model, key, { stream: true }))
      const chunks = yield* collect(result.chunks)
      const sent = yield* lastJson(fake)
      assert.strictEqual(sent.stream, true)
      assert.deepStrictEqual(sent.stream_options, { include_usage: true })
      assert.isTrue(chunks.every(Schema.is(ChatChunk)))
      assert.strictEqual(chunks.map((c) => c.choices[0]?.delta.content ?? "").join(""), "fake openai answer to: hello there")
      assert.strictEqual(chunks.find((c) => c.choices[0]?.finish_reason !== null && c.choices.length > 0 && c.choices[0]?.finish_reason !== undefined)?.choices[0]?.finish_reason, "stop")
      const last = chunks[chunks.length - 1]
      assert.deepStrictEqual(last?.choices, [])
      assert.strictEqual(last?.usage?.total_tokens, 13)
      assert.isUndefined(last?.usage?.estimated)
      assert.strictEqual(result.rateLimit?.limitTokens, 1_000_000)
    })))

  it.scoped("stream: tool-call fragments keep their index and concatenate", () =>
    live(Effect.gen(function*() {
      const { provider } = yield* setup()
      const tools = [{ type: "function" as const, function: { name: "lookup" } }]
      const chunks = yield* Effect.flatMap(
        provider.stream(ctxOf(model, key, { tools, messages: [{ role: "user", content: "please lookup the answer" }] })),
        (r) => collect(r.chunks)
      )
      const calls = chunks.flatMap((c) => c.choices.flatMap((ch) => ch.delta.tool_calls ?? []))
      assert.strictEqual(calls[0]?.id, "call_1")
      assert.strictEqual(calls[0]?.function?.name, "lookup")
      assert.isTrue(calls.every((c) => c.index === 0))
      assert.deepStrictEqual(JSON.parse(calls.map((c) => c.function?.arguments ?? "").join("")), { input: "please lookup the answer" })
      assert.isTrue(chunks.some((c) => c.choices[0]?.finish_reason === "tool_calls"))
    })))

  it.scoped("stream: a cut, a reset and an error event never end cleanly", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup()
      const run = Effect.flatMap(provider.stream(ctxOf(model, key)), (r) => collect(r.chunks))
      // Closed mid-answer (the fake's cut leaves out the answer's end: finish_reason, usage, [DONE]):
      // part of the text came, then StreamInterrupted, never a clean end.
      yield* fake.script(Fault.cut())
      const cut = yield* Effect.flatMap(provider.stream(ctxOf(model, key)), (r) => Effect.map(Stream.runCollect(Stream.either(r.chunks)), Chunk.toReadonlyArray))
      const delivered = cut.flatMap((item) => (item._tag === "Right" ? [item.right] : []))
      assert.include("fake openai answer to: hello there", textOf(delivered))
      assert.isAbove(textOf(delivered).length, 0)
      assert.isTrue(delivered.every((c) => c.choices.every((choice) => choice.finish_reason === null)))
      const last = cut.at(-1)
      assert.strictEqual(last?._tag === "Left" ? last.left._tag : "ended cleanly", "StreamInterrupted")
      // Closed after the finish_reason and the usage chunk, without [DONE] (as vLLM, llama.cpp, TGI may): the whole answer.
      // (Each answer has its own id and created.)
      const content = (chunks: ReadonlyArray<ChatChunk>) => chunks.map(({ choices, usage }) => ({ choices, usage }))
      const whole = yield* run
      assert.isUndefined(whole.at(-1)?.usage?.estimated, "one chunk per event: the cut below leaves out [DONE] alone")
      yield* fake.script(Fault.cut(whole.length))
      assert.deepStrictEqual(content(yield* run), content(whole))
      yield* fake.script(Fault.reset(3))
      assert.strictEqual(yield* tagOf(run), "StreamInterrupted")
      yield* fake.script(FakeOpenAi.faults.midStreamError(2))
      assert.strictEqual(yield* tagOf(run), "ServerError")
      yield* fake.script(FakeOpenAi.faults.midStreamError(2, "requests", "rate_limit_exceeded"))
      assert.strictEqual(yield* tagOf(run), "RateLimited")
      yield* fake.script(Fault.status(503))
      assert.strictEqual(yield* tagOf(provider.stream(ctxOf(model, key))), "Overloaded")
    })))

  it.scoped("classifies every error class", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup({ timeoutMs: 1_000 }, { contextWindow: 50 })
      const chat = (k = key) => provider.chat(ctxOf(model, k))
      const unauthorized = yield* Effect.flip(chat(keyOf("openai", "sk-wrong-key-999")))
      assert.strictEqual(unauthorized._tag, "Unauthorized")
      assert.strictEqual(unauthorized._tag === "Unauthorized" ? unauthorized.keyId : "", "openai#1")
      assert.notInclude(unauthorized.message, "sk-wrong-key-999")
      assert.strictEqual(yield* tagOf(provider.chat(ctxOf(model, undefined))), "Unauthorized")
      // A model the account does not have (404 model_not_found) is the registry's setup, not the request: failed over, not retried.
      const notFound = yield* Effect.flip(provider.chat(ctxOf(modelOf("openai", "gpt-unknown"), key)))
      assert.strictEqual(notFound._tag, "Transport")
      assert.isTrue(notFound._tag === "Transport" && notFound.unreachable === true)
      assert.strictEqual(notFound.status, 404)
      assert.strictEqual(endpointEvidence(notFound), undefined, "the model's, not its endpoint's")
      assert.strictEqual(
        yield* tagOf(provider.chat(ctxOf(model, key, { messages: [{ role: "user", content: "x".repeat(400) }] }))),
        "ContextLengthExceeded"
      )
      const cases: ReadonlyArray<readonly [Fault, string]> = [
        [FakeOpenAi.faults.insufficientQuota, "Unauthorized"],
        [FakeOpenAi.faults.contentFilter, "ContentFiltered"],
        [FakeOpenAi.faults.contextLength, "ContextLengthExceeded"],
        [FakeOpenAi.faults.rateLimited(1), "RateLimited"],
        [Fault.status(403), "Unauthorized"],
        [Fault.status(422), "BadRequest"],
        [Fault.status(500), "ServerError"],
        [Fault.status(503), "Overloaded"],
        [Fault.html(502), "ServerError"],
        [Fault.malformedJson(), "MalformedResponse"],
        [Fault.status(200, { body: { id: "x", object: "chat.completion", created: 1, model: "m", choices: [] } }), "MalformedResponse"],
        [
          Fault.status(200, {
            body: { id: "x", created: 1, model: "m", choices: [{ index: 0, message: { content: "a" }, finish_reason: "weird" }], usage: null }
          }),
          "MalformedResponse"
        ],
        [Fault.reset(), "Transport"]
      ]
      yield* assertFaultTags(fake, chat, cases)
      const html = yield* (fake.script(Fault.html(502)).pipe(Effect.zipRight(Effect.flip(chat()))))
      assert.include(html.detail, "502 Bad Gateway")
      yield* fake.script(Fault.delay({ headersMs: 5_000 }))
      assert.strictEqual(yield* tagAfterTimeout(chat(), 1_000), "Timeout")
    })))

  it.scoped("honours retry-after, retry-after-ms and x-ratelimit-reset-* (TestClock)", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup({ maxRetries: 3 })
      const hints: ReadonlyArray<readonly [Fault, number]> = [
        [FakeOpenAi.faults.rateLimited(2), 2_000],
        [Fault.status(429, { headers: { "retry-after-ms": "1500", "retry-after": "9" } }), 1_500],
        [Fault.status(429, { headers: { "x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "2.5s", "x-ratelimit-reset-requests": "20ms" } }), 2_500],
        [Fault.status(503, { headers: { "retry-after": "4" } }), 4_000]
      ]
      for (const [fault, expected] of hints) {
        yield* fake.reset
        yield* fake.script(fault)
        yield* assertRetryWaits(fake, provider.chat(ctxOf(model, key)), expected)
      }
    })))

  it.scoped("retries exhausted: the final error lists every attempt", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup({ maxRetries: 2 })
      yield* fake.persist(Fault.status(503, { headers: { "retry-after": "1" } }))
      const error = yield* errorAfterRetries(provider.chat(ctxOf(model, key)), 2, (ms) => ms === 1_000)
      assert.strictEqual(error._tag, "Overloaded")
      assert.deepStrictEqual(attemptsOf(error), ["Overloaded 503", "Overloaded 503", "Overloaded 503"])
      assert.lengthOf(yield* fake.requests, 3)
    })))

  it.scoped("the fake's own rate limit: a 429 whose wait exceeds maxRetryWaitMs comes back at once", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup({ maxRetries: 3, maxRetryWaitMs: 5_000 })
      const error = yield* ownRateLimitError(fake, () => provider.chat(ctxOf(model, key)), 5_000)
      assert.strictEqual(error.rateLimit?.remainingRequests, 0)
    })))

  it.scoped("probe lists models without spending tokens", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup()
      const ok = yield* provider.probe(model, key)
      assert.isTrue(ok.ok)
      assert.strictEqual((yield* fake.requests)[0]?.path, "/v1/models")
      const missing = yield* provider.probe(modelOf("openai", "gpt-unknown"), key)
      assert.isFalse(missing.ok)
      assert.strictEqual(missing.error?._tag, "Transport")
      assert.isTrue(missing.error?._tag === "Transport" && missing.error.unreachable === true)
      const denied = yield* provider.probe(model, keyOf("openai", "sk-nope-0000"))
      assert.strictEqual(denied.error?._tag, "Unauthorized")
    })))
})

const count = fc.nat({ max: 1_000_000 })
const wireResponse: fc.Arbitrary<OpenAiWire.WireResponse> = fc.record({
  id: fc.string(),
  created: count,
  model: fc.string(),
  choices: fc.array(
    fc.record({
      index: fc.option(fc.nat({ max: 8 }), { nil: undefined }),
      message: fc.record({
        role: fc.constant("assistant"),
        content: fc.option(fc.string(), { nil: null }),
        tool_calls: fc.option(
          fc.array(fc.record({ id: fc.string(), type: fc.constant("function"), function: fc.record({ name: fc.string(), arguments: fc.json() }) })),
          { nil: undefined }
        ),
        refusal: fc.option(fc.string(), { nil: null })
      }),
      finish_reason: fc.constantFrom("stop", "length", "tool_calls", "content_filter", "function_call")
    }),
    { minLength: 1, maxLength: 3 }
  ),
  usage: fc.option(
    fc.record({
      prompt_tokens: count,
      completion_tokens: count,
      total_tokens: fc.option(count, { nil: undefined }),
      prompt_tokens_details: fc.option(fc.record({ cached_tokens: fc.option(count, { nil: null }) }), { nil: null }),
      completion_tokens_details: fc.option(fc.record({ reasoning_tokens: fc.option(count, { nil: undefined }) }), { nil: undefined })
    }),
    { nil: undefined }
  ),
  system_fingerprint: fc.option(fc.string(), { nil: null })
}) as fc.Arbitrary<OpenAiWire.WireResponse>

describe("OpenAi properties", () => {
  it("any valid OpenAI response normalises to a valid ChatResponse", () => {
    fc.assert(
      fc.property(wireResponse, (wire) => {
        const out = OpenAiWire.normaliseResponse(wire, () => ({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, estimated: true }))
        assert.strictEqual(out._tag, "Ok")
        if (out._tag === "Ok") {
          assert.isTrue(Schema.is(ChatResponse)(out.value))
          assert.strictEqual(out.value.choices.length, wire.choices.length)
          assert.strictEqual(out.value.usage.prompt_tokens, wire.usage?.prompt_tokens ?? 0)
        }
      }),
      { numRuns: 200 }
    )
  })

  it("web-search citations (annotations) are carried in the answer and its stream chunks; OpenAI's empty list is not", () => {
    const citation = { type: "url_citation", url_citation: { start_index: 0, end_index: 5, url: "https://example.com", title: "Example" } }
    const usage = () => ({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, estimated: true })
    const answer = (annotations: unknown) =>
      Schema.decodeUnknownSync(OpenAiWire.WireResponse)({
        id: "c", created: 1, model: "gpt-4o-search-preview",
        choices: [{ index: 0, message: { role: "assistant", content: "Hello", annotations }, finish_reason: "stop" }]
      })
    const carried = OpenAiWire.normaliseResponse(answer([citation]), usage)
    assert.isTrue(carried._tag === "Ok" && Schema.is(ChatResponse)(carried.value))
    if (carried._tag === "Ok") assert.deepStrictEqual(carried.value.choices[0].message.annotations, [citation])
    const none = OpenAiWire.normaliseResponse(answer([]), usage)
    if (none._tag === "Ok") assert.notProperty(none.value.choices[0].message, "annotations")

    const chunk = Schema.decodeUnknownSync(OpenAiWire.WireChunk)({ choices: [{ index: 0, delta: { annotations: [citation] }, finish_reason: null }] })
    const streamed = OpenAiWire.normaliseChunk(chunk, { id: "i", created: 1, model: "m" })
    if (streamed._tag === "Ok") assert.deepStrictEqual(streamed.value.choices[0]?.delta.annotations, [citation])
    assert.strictEqual(streamed._tag, "Ok")
  })

  it("classification is total: every non-2xx status with any body is exactly one error class", () => {
    const special: Record<string, string> = {
      context_length_exceeded: "ContextLengthExceeded",
      content_filter: "ContentFiltered",
      insufficient_quota: "Unauthorized",
      model_not_found: "Transport"
    }
    const body = fc.oneof(
      fc.string(),
      fc.record({
        code: fc.oneof(fc.constantFrom(...Object.keys(special)), fc.string(), fc.constant(null)),
        type: fc.string(),
        message: fc.string()
      }).map((error) => JSON.stringify({ error }))
    )
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 599 }).filter((s) => s < 200 || s >= 300), body, (status, text) => {
        const error = classify(errorContextOf("openai", { model: "m", keyId: "openai#1", secrets: [] }, status, text, { excerpt: text.slice(0, 50) }))
        const code = text.startsWith("{\"error\"") ? (JSON.parse(text) as { error: { code: unknown } }).error.code : undefined
        const expected = typeof code === "string" && Object.hasOwn(special, code)
          ? special[code]
          : status === 404
          ? "Transport"
          : classifyStatus(status)
        assert.strictEqual(error._tag, expected)
        assert.strictEqual(typeof error.retryable, "boolean")
      }),
      { numRuns: 500 }
    )
  })

  it("any valid stream chunk normalises to a valid ChatChunk", () => {
    const chunk = fc.record({
      id: fc.option(fc.string(), { nil: undefined }),
      created: fc.option(count, { nil: undefined }),
      model: fc.option(fc.string(), { nil: undefined }),
      choices: fc.array(fc.record({
        index: fc.nat({ max: 4 }),
        delta: fc.record({
          role: fc.option(fc.constant("assistant"), { nil: undefined }),
          content: fc.option(fc.string(), { nil: null }),
          tool_calls: fc.option(
            fc.array(fc.record({
              index: fc.nat({ max: 4 }),
              id: fc.option(fc.string(), { nil: undefined }),
              type: fc.option(fc.constant("function"), { nil: undefined }),
              function: fc.record({ name: fc.option(fc.string(), { nil: undefined }), arguments: fc.option(fc.string(), { nil: undefined }) })
            })),
            { nil: undefined }
          )
        }),
        finish_reason: fc.option(fc.constantFrom("stop", "length", "tool_calls", "content_filter"), { nil: null })
      }), { maxLength: 2 }),
      usage: fc.option(fc.record({ prompt_tokens: count, completion_tokens: count }), { nil: null })
    }) as fc.Arbitrary<OpenAiWire.WireChunk>
    fc.assert(
      fc.property(chunk, (wire) => {
        const out = OpenAiWire.normaliseChunk(wire, { id: "i", created: 1, model: "m" })
        assert.strictEqual(out._tag, "Ok")
        if (out._tag === "Ok") assert.isTrue(Schema.is(ChatChunk)(out.value))
      }),
      { numRuns: 200 }
    )
  })
})
