/**
 * OpenAI-compatible servers (vLLM, llama.cpp server, LM Studio, Together,
 * Groq, OpenRouter, proxies) that users point the OpenAI adapter at answer
 * a little differently from OpenAI: a good answer from one of them must not
 * become an error, nor a broken stream a clean one.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as OpenAi from "../src/OpenAi.js"
import { collect, ctxOf, keyOf, live, modelOf } from "./internal/fixtures.js"
import { rawAdapter, sse } from "./internal/rawUpstream.js"

const ctx = ctxOf(modelOf("openai", "local-model"), keyOf("openai", "sk-test"))
const chat = (body: unknown) =>
  Effect.flatMap(rawAdapter(OpenAi.make, [{ body: JSON.stringify(body) }]), ({ provider }) => provider.chat(ctx))
const stream = (body: string) =>
  Effect.flatMap(
    rawAdapter(OpenAi.make, [{ headers: { "content-type": "text/event-stream" }, body }]),
    ({ provider }) => Effect.flatMap(provider.stream(ctx), (r) => collect(r.chunks))
  )
const chunk = (delta: unknown, finish: string | null = null, extra: Record<string, unknown> = {}) => ({
  id: "c1",
  object: "chat.completion.chunk",
  created: 1,
  model: "local-model",
  choices: [{ index: 0, delta, finish_reason: finish }],
  ...extra
})
const usage = { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 }

describe("OpenAI adapter against OpenAI-compatible servers, non-streamed", () => {
  it.scopedLive("no id, created, system_fingerprint nor usage (llama.cpp-style): the answer, its usage estimated", () =>
    live(Effect.gen(function*() {
      const { response } = yield* chat({ model: "local-model", choices: [{ message: { role: "assistant", content: "Hello" }, finish_reason: "stop" }] })
      assert.strictEqual(response.choices[0]?.message.content, "Hello")
      assert.strictEqual(response.choices[0]?.index, 0)
      assert.isTrue(response.usage.estimated)
      assert.isString(response.id)
    })))

  it.scopedLive("finish_reason \"eos\" / \"eos_token\" (TGI, llama.cpp): a stop", () =>
    live(Effect.gen(function*() {
      for (const reason of ["eos", "eos_token"]) {
        const { response } = yield* chat({ id: "x", created: 1, model: "m", choices: [{ index: 0, message: { content: "Hi" }, finish_reason: reason }], usage })
        assert.strictEqual(response.choices[0]?.finish_reason, "stop")
      }
      // vLLM's "abort" (the request was cut short) stays an error.
      const aborted = yield* Effect.flip(chat({ id: "x", created: 1, model: "m", choices: [{ index: 0, message: { content: "Hi" }, finish_reason: "abort" }], usage }))
      assert.strictEqual(aborted._tag, "MalformedResponse")
    })))

  it.scopedLive("finish_reason null on a complete answer: stop, or tool_calls when it calls tools", () =>
    live(Effect.gen(function*() {
      const text = yield* chat({ id: "x", created: 1, model: "m", choices: [{ index: 0, message: { content: "Hi" }, finish_reason: null }], usage })
      assert.strictEqual(text.response.choices[0]?.finish_reason, "stop")
      const call = { id: "call_1", type: "function", function: { name: "f", arguments: "{}" } }
      const tools = yield* chat({ id: "x", created: 1, model: "m", choices: [{ index: 0, message: { content: "", tool_calls: [call] }, finish_reason: null }], usage })
      assert.strictEqual(tools.response.choices[0]?.finish_reason, "tool_calls")
    })))

  it.scopedLive("tool call arguments sent as an object: passed on as its JSON string", () =>
    live(Effect.gen(function*() {
      const call = { id: "call_1", type: "function", function: { name: "f", arguments: { city: "Paris" } } }
      const { response } = yield* chat({ id: "x", created: 1, model: "m", choices: [{ index: 0, message: { content: "", tool_calls: [call] }, finish_reason: "tool_calls" }], usage })
      assert.deepStrictEqual(response.choices[0]?.message.tool_calls?.[0]?.function, { name: "f", arguments: "{\"city\":\"Paris\"}" })
    })))

  it.scopedLive("a 200 whose body is {\"error\": ...} (some proxies): the error it names, not a malformed answer", () =>
    live(Effect.gen(function*() {
      const e = yield* Effect.flip(chat({ error: { message: "maximum context length is 4096 tokens", type: "invalid_request_error", code: "context_length_exceeded" } }))
      assert.strictEqual(e._tag, "ContextLengthExceeded")
      assert.include(e.detail, "maximum context length")
    })))
})

describe("OpenAI adapter against OpenAI-compatible servers, streamed", () => {
  it.scopedLive("finish_reason \"eos\" in a stream: a stop", () =>
    live(Effect.gen(function*() {
      const chunks = yield* stream(sse([chunk({ content: "Hi" }), chunk({}, "eos", { usage }), "[DONE]"]))
      assert.strictEqual(chunks.find((c) => c.choices[0]?.finish_reason != null)?.choices[0]?.finish_reason, "stop")
    })))
})
