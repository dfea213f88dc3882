import type { ChatRequest } from "@modelgate/domain/Chat"
import { ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import type { CallContext } from "@modelgate/core/Provider"
import { assert, describe, it } from "@effect/vitest"
import { Redacted } from "effect"
import * as fc from "fast-check"
import { chatRequest } from "../src/OpenAi.js"
import { requestBody } from "../src/OpenAi/wire.js"

/** The body as it was first written: the request without stream fields, `model` replaced, stream options forced. */
const reference = (request: ChatRequest, providerModel: string, stream: boolean): Record<string, unknown> => {
  const { stream: _stream, stream_options: _options, ...rest } = request
  return stream
    ? { ...rest, model: providerModel, stream: true, stream_options: { include_usage: true } }
    : { ...rest, model: providerModel }
}

const request = fc.record({
  temperature: fc.double({ min: 0, max: 2, noNaN: true }),
  model: fc.string({ maxLength: 6 }),
  stream: fc.boolean(),
  messages: fc.array(fc.record({ role: fc.constantFrom("user", "system"), content: fc.string({ maxLength: 6 }) }), { maxLength: 2 }),
  stream_options: fc.record({ include_usage: fc.boolean() }),
  max_tokens: fc.nat(),
  user: fc.string({ maxLength: 4 }),
  metadata: fc.dictionary(fc.string({ maxLength: 3 }), fc.string({ maxLength: 3 }), { maxKeys: 2 })
}, { requiredKeys: ["messages"] }).chain((fields) =>
  // The keys in any order.
  fc.shuffledSubarray(Object.keys(fields), { minLength: Object.keys(fields).length }).map((keys) =>
    Object.fromEntries(keys.map((k) => [k, fields[k as keyof typeof fields]])) as unknown as ChatRequest
  )
)

describe("OpenAI request body", () => {
  it("is the request without stream fields, model replaced, stream options forced, keys in the same order", () => {
    fc.assert(
      fc.property(request, fc.string({ maxLength: 6 }), fc.boolean(), (req, providerModel, stream) => {
        const body = requestBody(req, providerModel, stream)
        assert.deepStrictEqual(body, reference(req, providerModel, stream))
        assert.strictEqual(JSON.stringify(body), JSON.stringify(reference(req, providerModel, stream)))
      }),
      { numRuns: 500 }
    )
  })

  it("to a reasoning model, max_tokens goes as max_completion_tokens (OpenAI rejects max_tokens there); to others as it is", () => {
    const base = { model: "auto", messages: [{ role: "user", content: "hi" }] } as const
    const asked = (extra: Partial<ChatRequest>, reasoning: boolean) => requestBody({ ...base, ...extra } as ChatRequest, "o4-mini", false, reasoning)
    assert.deepStrictEqual(asked({ max_tokens: 50 }, true), { model: "o4-mini", messages: base.messages, max_completion_tokens: 50 })
    assert.deepStrictEqual(asked({ max_tokens: 50, max_completion_tokens: 80 }, true), { model: "o4-mini", messages: base.messages, max_completion_tokens: 80 })
    assert.deepStrictEqual(asked({ max_tokens: null }, true), { model: "o4-mini", messages: base.messages })
    assert.deepStrictEqual(asked({ max_tokens: 50 }, false), { model: "o4-mini", messages: base.messages, max_tokens: 50 })
    // A client that writes its unset fields as null: the cap holds whatever the key order.
    assert.deepStrictEqual(asked({ max_tokens: 50, max_completion_tokens: null }, true), { model: "o4-mini", messages: base.messages, max_completion_tokens: 50 })
    assert.deepStrictEqual(asked({ max_completion_tokens: null, max_tokens: 50 }, true), { model: "o4-mini", messages: base.messages, max_completion_tokens: 50 })
  })

  type SentMessage = { readonly tool_calls?: ReadonlyArray<{ readonly id: string }>; readonly tool_call_id?: string }

  it("shortens tool-call ids over OpenAI's 40 characters (another provider's, after a failover), the call and its result alike", () => {
    const long = `call_${"x".repeat(60)}`
    const other = `call_${"y".repeat(60)}`
    const request: ChatRequest = {
      model: "auto",
      messages: [
        { role: "user", content: "weather?" },
        { role: "assistant", content: null, tool_calls: [
          { id: long, type: "function", function: { name: "f", arguments: "{}" } },
          { id: "call_short", type: "function", function: { name: "f", arguments: "{}" } },
          { id: other, type: "function", function: { name: "f", arguments: "{}" } }
        ] },
        { role: "tool", tool_call_id: long, content: "a" },
        { role: "tool", tool_call_id: "call_short", content: "b" },
        { role: "tool", tool_call_id: other, content: "c" }
      ]
    }
    const sentMessages = (r: ChatRequest) => requestBody(r, "gpt-4o-mini", false)["messages"] as ReadonlyArray<SentMessage>
    const sent = sentMessages(request)
    const ids = sent[1]!.tool_calls!.map((c) => c.id)
    assert.deepStrictEqual(sent.slice(2).map((m) => m.tool_call_id), ids, "each result still answers its call")
    assert.strictEqual(ids[1], "call_short")
    assert.isTrue(ids.every((id) => id.length <= 40))
    assert.notStrictEqual(ids[0], ids[2])
    // stable: the same history gives the same ids on the next turn
    assert.deepStrictEqual(sentMessages(request)[1]!.tool_calls!.map((c) => c.id), ids)
    // nothing long: the very same messages
    const plain: ChatRequest = { model: "auto", messages: [{ role: "user", content: "hi" }] }
    assert.strictEqual(requestBody(plain, "gpt-4o-mini", false)["messages"], plain.messages)
  })

  it("leaves Anthropic's cache breakpoints out (OpenAI caches prompts on its own), keeping everything else", () => {
    const cache = { type: "ephemeral" as const }
    const request: ChatRequest = {
      model: "auto",
      tools: [{ type: "function", function: { name: "f" }, cache_control: cache }],
      messages: [
        { role: "system", content: [{ type: "text", text: "rules", cache_control: cache }] },
        { role: "user", content: "hi" }
      ]
    }
    const body = requestBody(request, "gpt-4o-mini", false)
    assert.deepStrictEqual(body["messages"], [{ role: "system", content: [{ type: "text", text: "rules" }] }, { role: "user", content: "hi" }])
    assert.deepStrictEqual(body["tools"], [{ type: "function", function: { name: "f" } }])
    assert.strictEqual((request.messages[0]!.content as ReadonlyArray<{ cache_control?: unknown }>)[0]!.cache_control, cache, "the caller's request is unchanged")
  })

  it("sends tool_choice and parallel_tool_calls only with tools (OpenAI refuses them without)", () => {
    const base = { model: "auto", messages: [{ role: "user", content: "hi" }] } as const
    const without = requestBody({ ...base, tool_choice: "none", parallel_tool_calls: false } as ChatRequest, "gpt-4o-mini", false)
    assert.notProperty(without, "tool_choice")
    assert.notProperty(without, "parallel_tool_calls")
    const tools = [{ type: "function" as const, function: { name: "f" } }]
    const withTools = requestBody({ ...base, tools, tool_choice: "none", parallel_tool_calls: false } as ChatRequest, "gpt-4o-mini", false)
    assert.strictEqual(withTools["tool_choice"], "none")
    assert.strictEqual(withTools["parallel_tool_calls"], false)
  })

  it("leaves an empty tools list out, with its tool_choice: OpenAI refuses `tools: []` (the other adapters send no tools for it)", () => {
    const req = { model: "auto", messages: [{ role: "user", content: "hi" }], tools: [], tool_choice: "auto" } as ChatRequest
    const body = requestBody(req, "gpt-4o-mini", false)
    assert.notProperty(body, "tools")
    assert.notProperty(body, "tool_choice")
    assert.deepStrictEqual(body["messages"], req.messages)
  })

  it("carries OpenAI parameters modelgate does not model as they are", () => {
    const req = { model: "auto", messages: [{ role: "user", content: "hi" }], service_tier: "auto", prediction: { type: "content", content: "x" } } as ChatRequest
    const body = requestBody(req, "gpt-4o-mini", false)
    assert.strictEqual(body["service_tier"], "auto")
    assert.deepStrictEqual(body["prediction"], { type: "content", content: "x" })
    assert.strictEqual(body["model"], "gpt-4o-mini")
  })

  it("is sent as JSON with the content type, length, accept and bearer headers", () => {
    const req: ChatRequest = { model: "alias", messages: [{ role: "user", content: "héllo" }], stream: true }
    const ctx = { request: req, model: { providerModel: "gpt-x", capabilities: ["chat"] }, key: { id: "openai#0", value: Redacted.make("sk-1") } } as unknown as CallContext
    const built = chatRequest(ctx, ctx.key!, true)(ProviderConfig.make({ baseUrl: "http://up.example/v1/" }))
    assert.strictEqual(built.method, "POST")
    assert.strictEqual(built.url, "http://up.example/v1/chat/completions")
    const text = JSON.stringify({ model: "gpt-x", messages: [{ role: "user", content: "héllo" }], stream: true, stream_options: { include_usage: true } })
    const bytes = new TextEncoder().encode(text)
    assert.deepStrictEqual({ ...built.headers }, {
      accept: "text/event-stream",
      "content-type": "application/json",
      "content-length": String(bytes.length),
      authorization: "Bearer sk-1"
    })
    assert.strictEqual(built.body._tag, "Uint8Array")
    if (built.body._tag === "Uint8Array") assert.deepStrictEqual(new Uint8Array(built.body.body), bytes)
  })
})
