import type { Sse } from "@effect/experimental"
import { Headers } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { ChatChunk, ChatMessage, type ChatRequest, ChatResponse } from "@modelgate/domain/Chat"
import { isUnreachable, ProviderError } from "@modelgate/domain/ProviderError"
import { Arbitrary, Either, FastCheck, Schema } from "effect"
import * as fc from "fast-check"
import { classifyAnthropic, parseRateLimit, retryAfterOf } from "../src/Anthropic/Errors.js"
import { toAnthropicRequest, translateMessages } from "../src/Anthropic/Request.js"
import { type AnthropicResponse, fromAnthropicResponse } from "../src/Anthropic/Response.js"
import { AnthropicStreamTranslator } from "../src/Anthropic/Stream.js"
import { classifyStatus } from "../src/internal/errors.js"
import { validateMessages } from "@modelgate/testkit/FakeAnthropic/validate"
import { ctxOf, errorContextOf, modelOf } from "./internal/fixtures.js"

const info = { model: "claude-test", keyId: "anthropic#1", secrets: ["sk-ant-secret-123456"] }
const model = modelOf("anthropic", "claude-fake-1", "claude-test")

const errorCtx = (status: number, body: string, headers: Record<string, string> = {}) =>
  errorContextOf("anthropic", info, status, body, { headers, nowMs: 1_000_000 })

const event = (type: string, data: Record<string, unknown>): Sse.Event => ({
  _tag: "Event",
  event: type,
  id: undefined,
  data: JSON.stringify({ type, ...data })
})

const translator = () =>
  new AnthropicStreamTranslator({
    provider: "anthropic",
    info,
    meta: { status: 200, headers: Headers.empty, requestId: "req_1", rateLimit: undefined },
    nowMs: 5_000
  }, 5)

const run = (events: ReadonlyArray<Sse.Event>) => {
  const t = translator()
  const chunks: Array<ChatChunk> = []
  for (const e of [...events]) {
    const out = t.push(e)
    if (Either.isLeft(out)) return Either.left(out.left)
    chunks.push(...out.right)
  }
  const end = t.end()
  return Either.isLeft(end) ? Either.left(end.left) : Either.right([...chunks, ...end.right])
}

const start = event("message_start", {
  message: { id: "msg_1", model: "claude-x", usage: { input_tokens: 10, cache_read_input_tokens: 5, output_tokens: 1 } }
})

describe("Anthropic request translation", () => {
  it("lifts leading system/developer text, folds later system text into user turns, merges same-role turns", () => {
    const out = translateMessages([
      { role: "system", content: "a" },
      { role: "developer", content: "b" },
      { role: "user", content: "hi" },
      { role: "assistant", content: "yo" },
      { role: "system", content: "late rule" },
      { role: "user", content: "next" }
    ])
    assert.isTrue(Either.isRight(out))
    if (Either.isRight(out)) {
      assert.strictEqual(out.right.system, "a\n\nb")
      assert.deepStrictEqual(out.right.messages.map((m) => m.role), ["user", "assistant", "user"])
      assert.deepStrictEqual(out.right.messages[2]?.content, [{ type: "text", text: "late rule" }, { type: "text", text: "next" }])
    }
  })

  it("rejects tool arguments that are not a JSON object and audio input, naming the problem", () => {
    const bad = toAnthropicRequest(ctxOf(model, undefined, {
      messages: [{ role: "assistant", tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "[1]" } }] }]
    }).request, model, { stream: false, context: { provider: "anthropic", model: "claude-test" } })
    assert.isTrue(Either.isLeft(bad))
    if (Either.isLeft(bad)) assert.include(bad.left.message, "c1")
    const audio = translateMessages([{ role: "user", content: [{ type: "input_audio", input_audio: { data: "x", format: "wav" } }] }])
    assert.isTrue(Either.isLeft(audio))
  })

  it("tool-call ids Anthropic does not take (another provider's, a client's) are rewritten stably, the call and its result alike", () => {
    const request = (id: string) => ctxOf(model, undefined, {
      messages: [
        { role: "user", content: "weather?" },
        { role: "assistant", content: null, tool_calls: [{ id, type: "function", function: { name: "f", arguments: "{}" } }] },
        { role: "tool", tool_call_id: id, content: "sunny" }
      ]
    }).request
    const idsOf = (id: string) => {
      const body = Either.getOrThrow(toAnthropicRequest(request(id), model, { stream: false, context: { provider: "anthropic", model: "m" } }))
      const blocks = body.messages.flatMap((m) => (typeof m.content === "string" ? [] : m.content)) as ReadonlyArray<Record<string, unknown>>
      return [blocks.find((b) => b["type"] === "tool_use")?.["id"], blocks.find((b) => b["type"] === "tool_result")?.["tool_use_id"]]
    }
    const [use, result] = idsOf("functions.get_weather:0")
    assert.match(String(use), /^toolu_[a-zA-Z0-9_-]{24}$/)
    assert.strictEqual(result, use)
    assert.deepStrictEqual(idsOf("functions.get_weather:0"), [use, use], "the same id every turn")
    assert.deepStrictEqual(idsOf("call_abc-123"), ["call_abc-123", "call_abc-123"], "an id Anthropic takes is kept")
  })

  it("a tool-call id reused by a later call (OpenAI takes it; Anthropic refuses non-unique tool_use ids) goes renamed, stably, with its results; earlier turns unchanged", () => {
    const call = (id: string, city: string) => ({ id, type: "function" as const, function: { name: "f", arguments: JSON.stringify({ city }) } })
    const messages: ChatRequest["messages"] = [
      { role: "user", content: "Paris?" },
      { role: "assistant", content: null, tool_calls: [call("call_0", "Paris")] },
      { role: "tool", tool_call_id: "call_0", content: "18C" },
      { role: "user", content: "London and Rome?" },
      // a client's own ids: the same one twice in one answer, paired with its results in order
      { role: "assistant", content: null, tool_calls: [call("call_0", "London"), call("call_0", "Rome")] },
      { role: "tool", tool_call_id: "call_0", content: "12C" },
      { role: "tool", tool_call_id: "call_0", content: "24C" }
    ]
    const pairs = () => {
      const body = Either.getOrThrow(toAnthropicRequest({ model: "m", messages }, model, { stream: false, context: { provider: "anthropic", model: "m" } }))
      const blocks = body.messages.flatMap((m) => m.content)
      const cities = new Map(blocks.flatMap((b) => (b.type === "tool_use" ? [[b.id, b.input["city"]] as const] : [])))
      assert.strictEqual(cities.size, 3, "every tool_use id is unique")
      assert.strictEqual(blocks.find((b) => b.type === "tool_use")?.id, "call_0", "the first call keeps its id")
      return blocks.flatMap((b) => (b.type === "tool_result" ? [`${cities.get(b.tool_use_id)}: ${b.content}`] : []))
    }
    assert.deepStrictEqual(pairs(), ["Paris: 18C", "London: 12C", "Rome: 24C"])
    const ids = () => Either.getOrThrow(toAnthropicRequest({ model: "m", messages }, model, { stream: false, context: { provider: "anthropic", model: "m" } }))
    assert.deepStrictEqual(ids().messages, ids().messages, "the same ids every turn")
  })

  it("cache breakpoints (cache_control) stay on their system, user and tool-result blocks and on tools; without one the system prompt stays a string", () => {
    const cache = { type: "ephemeral" as const }
    const tools = [{ type: "function" as const, function: { name: "f", parameters: { type: "object" } }, cache_control: cache }]
    const request = ctxOf(model, undefined, {
      tools,
      messages: [
        { role: "system", content: [{ type: "text", text: "long rules" }, { type: "text", text: "and more", cache_control: { type: "ephemeral", ttl: "1h" } }] },
        { role: "user", content: [{ type: "text", text: "question", cache_control: cache }] },
        { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "f", arguments: "{}" } }] },
        { role: "tool", tool_call_id: "call_1", content: [{ type: "text", text: "result", cache_control: cache }] }
      ]
    }).request
    const body = Either.getOrThrow(toAnthropicRequest(request, model, { stream: false, context: { provider: "anthropic", model: "m" } }))
    assert.deepStrictEqual(body.system, [
      { type: "text", text: "long rules" },
      { type: "text", text: "and more", cache_control: { type: "ephemeral", ttl: "1h" } }
    ])
    assert.deepStrictEqual(body.messages[0]!.content, [{ type: "text", text: "question", cache_control: cache }])
    assert.deepStrictEqual(body.messages[2]!.content, [{ type: "tool_result", tool_use_id: "call_1", content: "result", cache_control: cache }])
    assert.deepStrictEqual(body.tools?.[0]?.cache_control, cache)
    // No breakpoint: the system prompt is one string, as before.
    const plain = Either.getOrThrow(toAnthropicRequest(ctxOf(model, undefined, {
      messages: [{ role: "system", content: [{ type: "text", text: "a" }, { type: "text", text: "b" }] }, { role: "user", content: "hi" }]
    }).request, model, { stream: false, context: { provider: "anthropic", model: "m" } }))
    assert.strictEqual(plain.system, "ab")
  })

  it("a final assistant turn (a prefill) goes without trailing whitespace, which Anthropic refuses there; earlier turns as they are", () => {
    const translate = (messages: ChatRequest["messages"]) =>
      Either.getOrThrow(toAnthropicRequest(ctxOf(model, undefined, { messages }).request, model, { stream: false, context: { provider: "anthropic", model: "m" } })).messages
    assert.deepStrictEqual(translate([{ role: "user", content: "count" }, { role: "assistant", content: "One, two, " }]).at(-1), {
      role: "assistant",
      content: [{ type: "text", text: "One, two," }]
    })
    assert.deepStrictEqual(translate([{ role: "user", content: "count" }, { role: "assistant", content: "  " }]), [{ role: "user", content: [{ type: "text", text: "count" }] }])
    assert.deepStrictEqual(translate([{ role: "assistant", content: "hi " }, { role: "user", content: "count " }]).map((m) => m.content), [
      [{ type: "text", text: "hi " }],
      [{ type: "text", text: "count " }]
    ])
  })

  it("tool_choice none and named map to Anthropic's shapes", () => {
    const tools = [{ type: "function" as const, function: { name: "f" } }]
    const body = (tool_choice: "none" | { type: "function"; function: { name: string } }) =>
      toAnthropicRequest(ctxOf(model, undefined, { tools, tool_choice }).request, model, { stream: true, context: { provider: "anthropic", model: "m" } })
    const none = body("none")
    const named = body({ type: "function", function: { name: "f" } })
    assert.deepStrictEqual(Either.getOrThrow(none).tool_choice, { type: "none" })
    assert.deepStrictEqual(Either.getOrThrow(named).tool_choice, { type: "tool", name: "f" })
    assert.deepStrictEqual(Either.getOrThrow(named).tools, [{ name: "f", input_schema: { type: "object", properties: {} } }])
    assert.isTrue(Either.getOrThrow(named).stream)
  })

  it("the end user's opaque id goes as metadata.user_id: OpenAI's safety_identifier (user's successor) as well as user", () => {
    const body = (fields: Record<string, unknown>) =>
      Either.getOrThrow(toAnthropicRequest({ ...ctxOf(model, undefined).request, ...fields } as ChatRequest, model, { stream: false, context: { provider: "anthropic", model: "m" } }))
    assert.deepStrictEqual(body({ safety_identifier: "u-hash-1" }).metadata, { user_id: "u-hash-1" })
    assert.deepStrictEqual(body({ user: "u-2" }).metadata, { user_id: "u-2" })
    assert.deepStrictEqual(body({ user: "u-2", safety_identifier: "u-hash-1" }).metadata, { user_id: "u-hash-1" })
    assert.isUndefined(body({}).metadata)
  })

  it("an end-user id Anthropic would refuse (an email, a phone number, other characters, over 256 long) goes as a stable opaque hash, not as a 400", () => {
    const body = (fields: Record<string, unknown>) =>
      Either.getOrThrow(toAnthropicRequest({ ...ctxOf(model, undefined).request, ...fields } as ChatRequest, model, { stream: false, context: { provider: "anthropic", model: "m" } }))
    const sent = (user: string) => body({ user }).metadata?.user_id
    for (const user of ["alice@example.com", "+1 555 123 4567", "15551234567", "org:42/user 7", "u".repeat(257)]) {
      const id = sent(user)
      assert.match(id ?? "", /^[A-Za-z0-9_-]{1,256}$/, user)
      assert.notStrictEqual(id, user)
      assert.strictEqual(sent(user), id, "the same user, the same id")
      assert.isUndefined(validateMessages(body({ user })), user)
    }
    assert.notStrictEqual(sent("alice@example.com"), sent("bob@example.com"))
    assert.strictEqual(body({ safety_identifier: "bob@example.com" }).metadata?.user_id, sent("bob@example.com"))
    assert.strictEqual(sent("user_42-a"), "user_42-a")
    assert.isUndefined(body({ user: "" }).metadata)
  })

  it("without max_tokens, a long prompt is sent the output room its context window leaves, not the whole output limit Claude would refuse", () => {
    const claude = { ...model, contextWindow: 200_000, maxOutputTokens: 64_000 }
    const bodyOf = (text: string, extra: Partial<ChatRequest> = {}) =>
      Either.getOrThrow(toAnthropicRequest(
        { model: "claude-test", messages: [{ role: "user", content: text }], ...extra },
        claude,
        { stream: false, context: { provider: "anthropic", model: "m" } }
      ))
    assert.strictEqual(bodyOf("hello").max_tokens, 64_000)
    // About 170k tokens of prompt: prompt + max_tokens stays within the 200k window.
    const long = "lorem ipsum dolor sit amet ".repeat(26_000)
    const capped = bodyOf(long).max_tokens
    assert.isBelow(capped, 30_000)
    assert.isAtLeast(capped, 1_024)
    // A prompt that seems to fill the window still gets some output; the request's own max_tokens is sent as asked.
    assert.strictEqual(bodyOf(long.repeat(2)).max_tokens, 1_024)
    assert.strictEqual(bodyOf(long, { max_tokens: 50_000 }).max_tokens, 50_000)
  })

  it("property: any message list translates to alternating user/assistant turns, or fails with a reason", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.array(Arbitrary.make(ChatMessage), { minLength: 1, maxLength: 8 }), (messages) => {
        const out = translateMessages(messages)
        if (Either.isLeft(out)) {
          assert.isTrue(out.left.detail.length > 0)
          return
        }
        const roles = out.right.messages.map((m) => m.role)
        roles.forEach((role, i) => assert.notStrictEqual(role, roles[i - 1]))
        assert.isTrue(out.right.messages.every((m) => m.content.length > 0))
        const results = out.right.messages.flatMap((m) => m.content.filter((b) => b.type === "tool_result"))
        assert.strictEqual(results.length, messages.filter((m) => m.role === "tool").length)
      }),
      { numRuns: 200 }
    )
  })
})

const count = fc.nat({ max: 1_000_000 })
const anthropicResponse: fc.Arbitrary<AnthropicResponse> = fc.record({
  id: fc.string(),
  role: fc.constant("assistant" as const),
  model: fc.string(),
  content: fc.array(
    fc.oneof(
      fc.record({ type: fc.constant("text" as const), text: fc.string() }),
      fc.record({
        type: fc.constant("tool_use" as const),
        id: fc.string(),
        name: fc.string(),
        input: fc.dictionary(fc.string(), fc.jsonValue())
      }),
      fc.record({ type: fc.constantFrom("thinking", "redacted_thinking", "server_tool_use") })
    ),
    { maxLength: 5 }
  ),
  stop_reason: fc.constantFrom("end_turn", "stop_sequence", "max_tokens", "tool_use", "refusal", "pause_turn", "model_context_window_exceeded"),
  usage: fc.record({
    input_tokens: count,
    output_tokens: count,
    cache_creation_input_tokens: fc.option(count, { nil: null }),
    cache_read_input_tokens: fc.option(count, { nil: undefined }),
    cache_creation: fc.option(fc.record({ ephemeral_5m_input_tokens: count, ephemeral_1h_input_tokens: count }), { nil: undefined })
  })
}) as fc.Arbitrary<AnthropicResponse>

describe("Anthropic response normalisation", () => {
  it("property: any valid Anthropic response normalises to a valid ChatResponse with exact usage", () => {
    fc.assert(
      fc.property(anthropicResponse, fc.nat({ max: 2_000_000_000_000 }), (wire, now) => {
        const out = fromAnthropicResponse(wire, now)
        assert.isFalse("_tag" in out)
        if ("_tag" in out) return
        const response = out.response
        assert.isTrue(Schema.is(ChatResponse)(response))
        const u = wire.usage
        const prompt = (u.input_tokens ?? 0) + (u.cache_read_input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0)
        assert.strictEqual(response.usage.prompt_tokens, prompt)
        assert.strictEqual(response.usage.total_tokens, prompt + (u.output_tokens ?? 0))
        assert.strictEqual(response.usage.prompt_tokens_details?.cached_tokens, u.cache_read_input_tokens ?? 0)
        // 1-hour writes are a part of the writes (capped to them), named only when there are some.
        const hour = Math.min(u.cache_creation?.ephemeral_1h_input_tokens ?? 0, u.cache_creation_input_tokens ?? 0)
        assert.strictEqual(response.usage.prompt_tokens_details?.cache_creation_1h_tokens, hour > 0 ? hour : undefined)
        const uses = wire.content.filter((b) => b.type === "tool_use")
        assert.strictEqual(response.choices[0].message.tool_calls?.length ?? 0, uses.length)
        const texts = wire.content.flatMap((b) => (b.type === "text" && "text" in b ? [b.text] : []))
        assert.strictEqual(response.choices[0].message.content ?? "", texts.join(""))
      }),
      { numRuns: 200 }
    )
  })

  it("maps stop reasons and rejects unknown ones", () => {
    const base = { id: "m", role: "assistant" as const, model: "x", content: [], usage: { input_tokens: 1, output_tokens: 1 } }
    const finish = (stop_reason: string | null) => {
      const out = fromAnthropicResponse({ ...base, stop_reason }, 0)
      return "_tag" in out ? out._tag : out.response.choices[0].finish_reason
    }
    assert.strictEqual(finish("end_turn"), "stop")
    assert.strictEqual(finish("stop_sequence"), "stop")
    assert.strictEqual(finish("max_tokens"), "length")
    assert.strictEqual(finish("tool_use"), "tool_calls")
    assert.strictEqual(finish("refusal"), "content_filter")
    assert.strictEqual(finish("gremlins"), "UnknownStopReason")
    assert.strictEqual(finish(null), "UnknownStopReason")
  })
})

describe("Anthropic error classification", () => {
  const errorType = fc.constantFrom(
    "invalid_request_error", "authentication_error", "billing_error", "permission_error", "not_found_error",
    "request_too_large", "rate_limit_error", "api_error", "timeout_error", "overloaded_error", "mystery_error"
  )
  const body = fc.oneof(
    fc.string(),
    fc.constant("<html>502</html>"),
    fc.record({ type: errorType, message: fc.oneof(fc.string(), fc.constant("prompt is too long: 300000 tokens > 200000 maximum")) })
      .map((error) => JSON.stringify({ type: "error", error }))
  )
  const headers = fc.record({ "retry-after": fc.oneof(fc.constant("2"), fc.constant("soon"), fc.string()) }, { requiredKeys: [] })

  it("property: classification is total; every status maps to exactly one class or success", () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 599 }), body, headers, (status, text, hs) => {
        if (classifyStatus(status) === "success") {
          assert.isTrue(status >= 200 && status < 300)
          return
        }
        const error = classifyAnthropic(errorCtx(status, text, hs))
        assert.isTrue(Schema.is(ProviderError)(error))
        assert.strictEqual(error.status, status)
        assert.notInclude(error.message, "sk-ant-secret-123456")
        if (status >= 500) assert.isTrue(error.retryable, `${status} ${error._tag}`)
        if ([400, 401, 403, 413, 422].includes(status)) assert.isFalse(error.retryable, `${status} ${error._tag}`)
        // A 404 is the operator's setup (a model the account lacks): unreachable, never retried by the adapter.
        if (status === 404) assert.isTrue(isUnreachable(error), `${status} ${error._tag}`)
        if (status < 200 || (status >= 300 && status < 400)) assert.strictEqual(error._tag, "MalformedResponse")
      }),
      { numRuns: 500 }
    )
  })

  it("refines by body: prompt too long, overloaded inside a 500, spend limit", () => {
    const body = (type: string, message: string, details?: unknown) => JSON.stringify({ type: "error", error: { type, message, details } })
    assert.strictEqual(classifyAnthropic(errorCtx(400, body("invalid_request_error", "prompt is too long: 201000 tokens > 200000 maximum")))._tag, "ContextLengthExceeded")
    assert.strictEqual(classifyAnthropic(errorCtx(400, body("invalid_request_error", "messages: Field required")))._tag, "BadRequest")
    assert.strictEqual(classifyAnthropic(errorCtx(500, body("overloaded_error", "Overloaded")))._tag, "Overloaded")
    const spend = classifyAnthropic(errorCtx(429, body("rate_limit_error", "cap", { error_code: "enforced_spend_limit_reached" })))
    assert.strictEqual(spend._tag, "Unauthorized")
    assert.isFalse(spend.retryable)
    const withId = classifyAnthropic(errorCtx(500, JSON.stringify({ type: "error", error: { type: "api_error", message: "x" }, request_id: "req_9" })))
    assert.strictEqual(withId.requestId, "req_9")
  })

  it("reads anthropic-ratelimit-* headers and retry hints relative to the clock", () => {
    const now = Date.parse("2026-01-01T00:00:00Z")
    const headers = Headers.fromInput({
      "anthropic-ratelimit-requests-limit": "50",
      "anthropic-ratelimit-requests-remaining": "0",
      "anthropic-ratelimit-requests-reset": "2026-01-01T00:00:07Z",
      "anthropic-ratelimit-tokens-limit": "40000",
      "anthropic-ratelimit-tokens-remaining": "39000",
      "anthropic-ratelimit-tokens-reset": "2026-01-01T00:00:01.500Z"
    })
    assert.deepStrictEqual({ ...parseRateLimit(headers, now) }, {
      limitRequests: 50,
      remainingRequests: 0,
      resetRequestsMs: 7_000,
      limitTokens: 40_000,
      remainingTokens: 39_000,
      resetTokensMs: 1_500
    })
    assert.strictEqual(retryAfterOf(headers, now), 7_000)
    assert.strictEqual(retryAfterOf(Headers.fromInput({ "retry-after": "3", "anthropic-ratelimit-requests-remaining": "0" }), now), 3_000)
    assert.strictEqual(retryAfterOf(Headers.fromInput({ "retry-after-ms": "250" }), now), 250)
    assert.isUndefined(parseRateLimit(Headers.empty, now))
    const inputOnly = parseRateLimit(Headers.fromInput({ "anthropic-ratelimit-input-tokens-remaining": "12" }), now)
    assert.strictEqual(inputOnly?.remainingTokens, 12)
  })
})

describe("Anthropic stream translation", () => {
  it("translates the event sequence, ignores ping and unknown events, takes the last cumulative usage", () => {
    const out = run([
      start,
      event("ping", {}),
      event("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
      event("content_block_delta", { index: 0, delta: { type: "text_delta", text: "Hel" } }),
      event("some_future_event", { whatever: true }),
      { _tag: "Event", event: "message", id: undefined, data: "{\"type\":\"future_thing\"}" },
      event("content_block_delta", { index: 0, delta: { type: "text_delta", text: "lo" } }),
      event("content_block_stop", { index: 0 }),
      event("content_block_start", { index: 1, content_block: { type: "tool_use", id: "toolu_1", name: "f", input: {} } }),
      event("content_block_delta", { index: 1, delta: { type: "input_json_delta", partial_json: "" } }),
      event("content_block_delta", { index: 1, delta: { type: "input_json_delta", partial_json: "{\"a\":" } }),
      event("content_block_delta", { index: 1, delta: { type: "input_json_delta", partial_json: "1}" } }),
      event("content_block_stop", { index: 1 }),
      event("message_delta", { delta: { stop_reason: "tool_use" }, usage: { output_tokens: 5 } }),
      event("message_delta", { delta: {}, usage: { output_tokens: 9 } }),
      event("message_stop", {})
    ])
    assert.isTrue(Either.isRight(out))
    const chunks = Either.getOrThrow(out)
    assert.isTrue(chunks.every(Schema.is(ChatChunk)))
    assert.strictEqual(chunks.map((c) => c.choices[0]?.delta.content ?? "").join(""), "Hello")
    const calls = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? [])
    assert.deepStrictEqual(calls[0], { index: 0, id: "toolu_1", type: "function", function: { name: "f", arguments: "" } })
    assert.strictEqual(calls.map((c) => c.function?.arguments ?? "").join(""), "{\"a\":1}")
    assert.strictEqual(chunks[chunks.length - 2]?.choices[0]?.finish_reason, "tool_calls")
    assert.deepStrictEqual(chunks[chunks.length - 1]?.usage, {
      prompt_tokens: 15,
      completion_tokens: 9,
      total_tokens: 24,
      prompt_tokens_details: { cached_tokens: 5, cache_creation_tokens: 0 }
    })
  })

  it("a body that ends before message_stop is StreamInterrupted; an unknown stop reason is MalformedResponse", () => {
    const cut = run([start, event("content_block_start", { index: 0, content_block: { type: "text", text: "" } }), event("message_delta", { delta: { stop_reason: "end_turn" } })])
    assert.strictEqual(Either.isLeft(cut) ? cut.left._tag : "", "StreamInterrupted")
    assert.strictEqual(Either.isLeft(run([])) ? "left" : "right", "left")
    const weird = run([start, event("message_delta", { delta: { stop_reason: "gremlins" } }), event("message_stop", {})])
    assert.strictEqual(Either.isLeft(weird) ? weird.left._tag : "", "MalformedResponse")
    const broken = run([start, { _tag: "Event", event: "content_block_delta", id: undefined, data: "{not json" }])
    assert.strictEqual(Either.isLeft(broken) ? broken.left._tag : "", "MalformedResponse")
  })

  it("an error event is classified by its type, without an HTTP status", () => {
    const out = run([start, event("error", { error: { type: "rate_limit_error", message: "slow" } })])
    assert.isTrue(Either.isLeft(out))
    if (Either.isLeft(out)) {
      assert.strictEqual(out.left._tag, "RateLimited")
      assert.isUndefined(out.left.status)
      assert.strictEqual(out.left.requestId, "req_1")
    }
  })

  it("property: streamed text deltas reassemble the text exactly", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ minLength: 1 }), { maxLength: 20 }), (pieces) => {
        const out = run([
          start,
          event("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
          ...pieces.map((text) => event("content_block_delta", { index: 0, delta: { type: "text_delta", text } })),
          event("content_block_stop", { index: 0 }),
          event("message_delta", { delta: { stop_reason: "end_turn" }, usage: { output_tokens: pieces.length } }),
          event("message_stop", {})
        ])
        const chunks = Either.getOrThrow(out)
        assert.strictEqual(chunks.map((c) => c.choices[0]?.delta.content ?? "").join(""), pieces.join(""))
        assert.strictEqual(chunks[chunks.length - 1]?.usage?.completion_tokens, pieces.length)
      }),
      { numRuns: 100 }
    )
  })
})
