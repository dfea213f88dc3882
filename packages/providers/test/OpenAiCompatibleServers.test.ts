/**
 * OpenAI-compatible servers (vLLM, llama.cpp server, LM Studio, Together,
 * Groq, OpenRouter, proxies) that users point the OpenAI adapter at answer
 * a little differently from OpenAI: a good answer from one of them must not
 * become an error, nor a broken stream a clean one.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as OpenAi from "../src/OpenAi.js"
import { collect, ctxOf, keyOf, live, modelOf, tagOf, textOf } from "./internal/fixtures.js"
import { rawAdapter, sse } from "./internal/rawUpstream.js"

const ctx = ctxOf(modelOf("openai", "local-model"), keyOf("openai", "sk-test"))
const chat = (body: unknown) =>
  Effect.flatMap(rawAdapter(OpenAi.make, [{ body: JSON.stringify(body) }]), ({ provider }) => provider.chat(ctx))
/** A chat refused with `status` and `body`. */
const refused = (status: number, body: unknown) =>
  Effect.flatMap(rawAdapter(OpenAi.make, [{ status, body: JSON.stringify(body) }]), ({ provider }) => provider.chat(ctx))
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
/** A chunk of choice `index` (n > 1). */
const chunkOf = (index: number, delta: unknown, finish: string | null = null) => ({ ...chunk(delta, finish), choices: [{ index, delta, finish_reason: finish }] })
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

  // ContextLengthExceeded lets the gateway fail over to a model with a larger window; BadRequest ends the request.
  it.scopedLive("a prompt over the context window, as vLLM, llama.cpp and TGI say it: ContextLengthExceeded", () =>
    live(Effect.gen(function*() {
      const vllm = "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (4900 in the messages, 100 in the completion)."
      const answers: ReadonlyArray<readonly [string, number, unknown]> = [
        ["vLLM, flat body", 400, { object: "error", message: vllm, type: "BadRequestError", param: null, code: 400 }],
        ["vLLM, nested body", 400, { error: { message: vllm, type: "BadRequestError", param: null, code: 400 } }],
        ["llama.cpp", 400, { error: { code: 400, message: "the request exceeds the available context size, try increasing it", type: "exceed_context_size_error", n_prompt_tokens: 5000, n_ctx: 4096 } }],
        ["TGI", 422, { error: "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. Given: 5000 `inputs` tokens and 100 `max_new_tokens`", error_type: "validation" }]
      ]
      for (const [server, status, body] of answers) {
        const e = yield* Effect.flip(refused(status, body))
        assert.strictEqual(e._tag, "ContextLengthExceeded", server)
      }
    })))

  it.scopedLive("vLLM's flat error body: its message as the detail, a plain BadRequest when it is not about the context window", () =>
    live(Effect.gen(function*() {
      const e = yield* Effect.flip(refused(400, { object: "error", message: "temperature must be non-negative, got -1.0.", type: "BadRequestError", param: "temperature", code: 400 }))
      assert.strictEqual(e._tag, "BadRequest")
      assert.strictEqual(e.detail, "BadRequestError/400: temperature must be non-negative, got -1.0.")
      assert.strictEqual(e._tag === "BadRequest" ? e.param : undefined, "temperature")
    })))
})

describe("OpenAI adapter against OpenAI-compatible servers, streamed", () => {
  it.scopedLive("finish_reason \"eos\" in a stream: a stop", () =>
    live(Effect.gen(function*() {
      const chunks = yield* stream(sse([chunk({ content: "Hi" }), chunk({}, "eos", { usage }), "[DONE]"]))
      assert.strictEqual(chunks.find((c) => c.choices[0]?.finish_reason != null)?.choices[0]?.finish_reason, "stop")
    })))

  // vLLM, llama.cpp and TGI may close the body after the last chunk without `data: [DONE]`.
  it.scopedLive("closed without [DONE] after every choice finished and the usage chunk: the complete answer, its usage as reported", () =>
    live(Effect.gen(function*() {
      const chunks = yield* stream(sse([chunk({ role: "assistant", content: "Hel" }), chunk({ content: "lo" }), chunk({}, "stop"), { ...chunk({}), choices: [], usage }]))
      assert.strictEqual(textOf(chunks), "Hello")
      assert.strictEqual(chunks.at(-1)?.usage?.total_tokens, 7)
      assert.isUndefined(chunks.at(-1)?.usage?.estimated)
    })))

  it.scopedLive("closed without [DONE] after the finish_reason, before the usage chunk: the complete answer, its usage estimated", () =>
    live(Effect.gen(function*() {
      const chunks = yield* stream(sse([chunk({ role: "assistant", content: "Hello" }), chunk({}, "stop")]))
      assert.strictEqual(textOf(chunks), "Hello")
      assert.isTrue(chunks.at(-1)?.usage?.estimated)
      const n2 = yield* stream(sse([chunkOf(0, { content: "A" }), chunkOf(1, { content: "B" }), chunkOf(0, {}, "stop"), chunkOf(1, {}, "length")]))
      assert.deepStrictEqual(n2.flatMap((c) => c.choices.map((ch) => ch.finish_reason)).filter((r) => r !== null), ["stop", "length"])
    })))

  it.scopedLive("llama.cpp's context-size error as an event after the 200: ContextLengthExceeded, not a ServerError", () =>
    live(Effect.gen(function*() {
      const error = { code: 400, message: "the request exceeds the available context size, try increasing it", type: "exceed_context_size_error" }
      assert.strictEqual(yield* tagOf(stream(sse([{ error }]))), "ContextLengthExceeded")
    })))

  // Gemini's OpenAI-compatible endpoint, older Ollama /v1 and mistral.rs, and some proxies, leave `index` out of
  // streamed tool-call deltas; every OpenAI client reassembles calls by it (the official one fails without it).
  it.scopedLive("tool-call deltas without index: numbered 0, 1, ... by call, a follow-up piece joined to its call", () =>
    live(Effect.gen(function*() {
      const call = (id: string, name: string, args: string) => ({ id, type: "function", function: { name, arguments: args } })
      // Whole calls, two in one chunk and one in the next (Gemini's OpenAI-compatible endpoint).
      const whole = yield* stream(sse([
        chunk({ role: "assistant", tool_calls: [call("call_a", "get_weather", "{\"city\":\"Paris\"}"), call("call_b", "get_time", "{}")] }),
        chunk({ tool_calls: [call("call_c", "get_weather", "{\"city\":\"Rome\"}")] }),
        chunk({}, "tool_calls", { usage }),
        "[DONE]"
      ]))
      const deltas = whole.flatMap((c) => c.choices.flatMap((ch) => ch.delta.tool_calls ?? []))
      assert.deepStrictEqual(deltas.map((d) => [d.index, d.id, d.function?.name]), [[0, "call_a", "get_weather"], [1, "call_b", "get_time"], [2, "call_c", "get_weather"]])
      // A call opened with its id, its arguments in later pieces without index nor id; then a second call.
      const pieces = yield* stream(sse([
        chunk({ role: "assistant", tool_calls: [call("call_a", "get_weather", "")] }),
        chunk({ tool_calls: [{ function: { arguments: "{\"city\":" } }] }),
        chunk({ tool_calls: [{ function: { arguments: "\"Paris\"}" } }] }),
        chunk({ tool_calls: [call("call_b", "get_time", "")] }),
        chunk({ tool_calls: [{ function: { arguments: "{}" } }] }),
        chunk({}, "tool_calls", { usage }),
        "[DONE]"
      ]))
      const byIndex = new Map<number, string>()
      for (const d of pieces.flatMap((c) => c.choices.flatMap((ch) => ch.delta.tool_calls ?? []))) byIndex.set(d.index, (byIndex.get(d.index) ?? "") + (d.function?.arguments ?? ""))
      assert.deepStrictEqual([...byIndex], [[0, "{\"city\":\"Paris\"}"], [1, "{}"]])
    })))

  // vLLM on a named tool_choice opens the call without `type`; the official client's stream helper then throws.
  it.scopedLive("a tool call opened without type: type \"function\" on its opening delta only", () =>
    live(Effect.gen(function*() {
      const chunks = yield* stream(sse([
        chunk({ role: "assistant", tool_calls: [{ index: 0, id: "call_a", function: { name: "get_weather", arguments: "" } }] }),
        chunk({ tool_calls: [{ index: 0, id: null, type: null, function: { name: null, arguments: "{\"city\":\"Paris\"}" } }] }),
        chunk({}, "tool_calls", { usage }),
        "[DONE]"
      ]))
      const deltas = chunks.flatMap((c) => c.choices.flatMap((ch) => ch.delta.tool_calls ?? []))
      assert.deepStrictEqual(deltas, [
        { index: 0, id: "call_a", type: "function", function: { name: "get_weather", arguments: "" } },
        { index: 0, function: { arguments: "{\"city\":\"Paris\"}" } }
      ])
    })))

  it.scopedLive("closed without [DONE] before a choice finished: StreamInterrupted, as before", () =>
    live(Effect.gen(function*() {
      assert.strictEqual(yield* tagOf(stream(sse([chunk({ role: "assistant", content: "Hel" }), chunk({ content: "lo" })]))), "StreamInterrupted")
      // The usage chunk does not finish an answer.
      assert.strictEqual(yield* tagOf(stream(sse([chunk({ content: "Hel" }), { ...chunk({}), choices: [], usage }]))), "StreamInterrupted")
      // n = 2, one choice finished.
      assert.strictEqual(yield* tagOf(stream(sse([chunkOf(0, { content: "A" }), chunkOf(1, { content: "B" }), chunkOf(0, {}, "stop")]))), "StreamInterrupted")
      // The finish chunk cut short (no blank line after it): not received.
      assert.strictEqual(yield* tagOf(stream(sse([chunk({ content: "Hello" }), chunk({}, "stop")]).slice(0, -2))), "StreamInterrupted")
      // Nothing at all.
      assert.strictEqual(yield* tagOf(stream("")), "StreamInterrupted")
    })))
})
