/**
 * Streamed tool calls and n > 1 end to end: raw provider streams as each
 * provider documents them (PROVIDERS.md) in, what an OpenAI client gets out.
 * (OpenAI, Gemini and Ollama; Anthropic has its own tests.)
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import OpenAI from "openai"
import { post, rows, waitUntil } from "./support/FourProviderStack.js"
import { chunksOf, geminiSse, json, ollamaNdjson, openaiSse, reassemble, serveRaw } from "./support/RawProviders.js"

const tools = [
  { type: "function" as const, function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } },
  { type: "function" as const, function: { name: "get_time", parameters: { type: "object", properties: {} } } }
]
const messages = [{ role: "user" as const, content: "weather in Paris and the time?" }]
const base = { id: "chatcmpl-up1", object: "chat.completion.chunk", created: 1712345678, model: "gpt-4o-mini-2024-07-18", system_fingerprint: "fp_1" }
const oc = (delta: unknown, finish: string | null = null, index = 0) => ({ ...base, choices: [{ index, delta, logprobs: null, finish_reason: finish }], usage: null })

const openaiToolStream = () => openaiSse([
  oc({ role: "assistant", content: null, tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "get_weather", arguments: "" } }], refusal: null }),
  oc({ tool_calls: [{ index: 0, function: { arguments: "{\"ci" } }] }),
  oc({ tool_calls: [{ index: 0, function: { arguments: "ty\":\"Paris\"}" } }] }),
  oc({ tool_calls: [{ index: 1, id: "call_b", type: "function", function: { name: "get_time", arguments: "" } }] }),
  oc({ tool_calls: [{ index: 1, function: { arguments: "{}" } }] }),
  oc({}, "tool_calls"),
  { ...base, choices: [], usage: { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 } }
])
const geminiParts = [{ functionCall: { name: "get_weather", args: { city: "Paris" } } }, { functionCall: { name: "get_time" } }]
const geminiToolStream = () => geminiSse([
  { candidates: [{ content: { role: "model", parts: [{ text: "Let me check." }] } }], modelVersion: "gemini-2.5-flash", responseId: "resp1" },
  { candidates: [{ content: { role: "model", parts: geminiParts }, finishReason: "STOP" }], usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 5, totalTokenCount: 15 }, modelVersion: "gemini-2.5-flash", responseId: "resp1" }
])
const geminiToolAnswer = () => json({ candidates: [{ content: { role: "model", parts: [{ text: "Let me check." }, ...geminiParts] }, finishReason: "STOP" }], usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 5, totalTokenCount: 15 }, modelVersion: "gemini-2.5-flash", responseId: "resp1" })
const ollamaCalls = [{ function: { index: 0, name: "get_weather", arguments: { city: "Paris" } } }, { function: { index: 1, name: "get_time", arguments: {} } }]
const ollamaToolStream = () => ollamaNdjson([
  { model: "llama3.2", created_at: "2025-07-07T20:32:53.84Z", message: { role: "assistant", content: "", tool_calls: [ollamaCalls[0]] }, done: false },
  { model: "llama3.2", created_at: "2025-07-07T20:32:53.85Z", message: { role: "assistant", content: "", tool_calls: [ollamaCalls[1]] }, done: false },
  { model: "llama3.2", created_at: "2025-07-07T20:32:53.94Z", message: { role: "assistant", content: "" }, done: true, done_reason: "stop", prompt_eval_count: 10, eval_count: 20 }
])
const ollamaToolAnswer = () => json({ model: "llama3.2", created_at: "2025-07-07T20:32:53.84Z", message: { role: "assistant", content: "", tool_calls: ollamaCalls }, done: true, done_reason: "stop", prompt_eval_count: 10, eval_count: 20 })

const client = (url: string) => new OpenAI({ baseURL: `${url}/v1`, apiKey: "unused", maxRetries: 0 })
const callsOf = (c: OpenAI.ChatCompletion) =>
  c.choices.map((ch) => ({ finish: ch.finish_reason, calls: (ch.message.tool_calls ?? []).map((t) => t.type === "function" ? [t.function.name, t.function.arguments] : []) }))
const streamed = (url: string, model: string, extra: Record<string, unknown> = {}) =>
  Effect.promise(() => client(url).chat.completions.stream({ model, tools, messages, ...extra }).finalChatCompletion())

const expected = [{ finish: "tool_calls", calls: [["get_weather", "{\"city\":\"Paris\"}"], ["get_time", "{}"]] }]

describe("streamed tool calls over HTTP", () => {
  for (const [model, provider, stream, answer] of [
    ["gpt", "openai", openaiToolStream, undefined],
    ["gemini", "google", geminiToolStream, geminiToolAnswer],
    ["llama", "ollama", ollamaToolStream, ollamaToolAnswer]
  ] as const) {
    it.scopedLive(`${model}: chunks carry index, id, type and name first; args concatenate to the non-streamed JSON; the client's helper agrees`, () =>
      Effect.gen(function* () {
        const s = yield* serveRaw()
        const up = s[provider]
        up.script(stream())
        const raw = yield* post(s.url, { model, stream: true, tools, messages })
        const chunks = chunksOf(raw.text)
        const deltas = chunks.flatMap((c) => c.choices).flatMap((c: any) => c.delta.tool_calls ?? [])
        for (const index of [0, 1]) {
          const first = deltas.find((d: any) => d.index === index)
          assert.strictEqual(first.type, "function")
          assert.isString(first.id)
          assert.isString(first.function.name)
        }
        const again = reassemble(chunks).get(0)!
        assert.deepStrictEqual([...again.calls.values()].map((c) => [c.name, JSON.parse(c.arguments)]), [["get_weather", { city: "Paris" }], ["get_time", {}]])
        assert.strictEqual(again.finish, "tool_calls")
        up.script(stream())
        const final = yield* streamed(s.url, model)
        assert.deepStrictEqual(callsOf(final), expected)
        if (answer !== undefined) {
          up.script(answer())
          const whole = yield* Effect.promise(() => client(s.url).chat.completions.create({ model, tools, messages }))
          assert.deepStrictEqual(callsOf(whole), expected)
        }
      }))
  }

  it.scopedLive("gpt on OpenAI-compatible servers that leave a tool call's index (Gemini's endpoint) or type (vLLM) out: the client gets each call whole", () =>
    Effect.gen(function* () {
      const s = yield* serveRaw()
      const call = (id: string, name: string, args: string) => ({ id, type: "function", function: { name, arguments: args } })
      const usage = { ...base, choices: [], usage: { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 } }
      const noIndex = () => openaiSse([
        oc({ role: "assistant", tool_calls: [call("call_a", "get_weather", "{\"city\":\"Paris\"}"), call("call_b", "get_time", "{}")] }),
        oc({}, "tool_calls"),
        usage
      ])
      const noType = () => openaiSse([
        oc({ role: "assistant", tool_calls: [{ index: 0, id: "call_a", function: { name: "get_weather", arguments: "" } }] }),
        oc({ tool_calls: [{ index: 0, function: { arguments: "{\"city\":\"Paris\"}" } }] }),
        oc({ tool_calls: [{ index: 1, id: "call_b", function: { name: "get_time", arguments: "{}" } }] }),
        oc({}, "tool_calls"),
        usage
      ])
      for (const upstream of [noIndex, noType]) {
        s.openai.script(upstream())
        const raw = yield* post(s.url, { model: "gpt", stream: true, tools, messages })
        assert.strictEqual(raw.status, 200)
        const deltas = chunksOf(raw.text).flatMap((c) => c.choices).flatMap((c: any) => c.delta.tool_calls ?? [])
        assert.deepStrictEqual(deltas.filter((d: any) => d.id !== undefined).map((d: any) => [d.index, d.id, d.type]), [[0, "call_a", "function"], [1, "call_b", "function"]])
        s.openai.script(upstream())
        assert.deepStrictEqual(callsOf(yield* streamed(s.url, "gpt")), expected)
      }
    }), 60_000)

  it.scopedLive("cache on, temperature 0: the replayed stream and the cached complete answer carry the same tool calls", () =>
    Effect.gen(function* () {
      const s = yield* serveRaw({ cache: { enabled: true } })
      s.openai.script(openaiToolStream())
      s.google.script(geminiToolStream())
      s.ollama.script(ollamaToolStream())
      for (const model of ["gpt", "gemini", "llama"]) {
        const first = yield* streamed(s.url, model, { temperature: 0 })
        const replay = yield* Effect.promise(() => client(s.url).chat.completions.stream({ model, tools, messages, temperature: 0 }).finalChatCompletion())
        const whole = yield* Effect.promise(() => client(s.url).chat.completions.create({ model, tools, messages, temperature: 0 }))
        assert.deepStrictEqual(callsOf(first), expected)
        assert.deepStrictEqual(replay.choices[0]?.message.tool_calls, first.choices[0]?.message.tool_calls)
        assert.deepStrictEqual(whole.choices[0]?.message.tool_calls?.map((t) => t.id), first.choices[0]?.message.tool_calls?.map((t) => t.id))
      }
    }))

  it.scopedLive("a tool conversation sent back reaches each provider in its shape", () =>
    Effect.gen(function* () {
      const s = yield* serveRaw()
      const history = [
        ...messages,
        { role: "assistant", content: null, tool_calls: [
          { id: "call_a", type: "function", function: { name: "get_weather", arguments: "{\"city\":\"Paris\"}" } },
          { id: "call_b", type: "function", function: { name: "get_time", arguments: "{}" } }
        ] },
        { role: "tool", tool_call_id: "call_a", content: "{\"temp\":21}" },
        { role: "tool", tool_call_id: "call_b", content: "12:00" }
      ]
      s.openai.script(json({ id: "x", object: "chat.completion", created: 1, model: "gpt-4o-mini", choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }))
      s.google.script(json({ candidates: [{ content: { role: "model", parts: [{ text: "ok" }] }, finishReason: "STOP" }], usageMetadata: { promptTokenCount: 1, candidatesTokenCount: 1, totalTokenCount: 2 } }))
      s.ollama.script(json({ model: "llama3.2", message: { role: "assistant", content: "ok" }, done: true, done_reason: "stop", prompt_eval_count: 1, eval_count: 1 }))
      for (const model of ["gpt", "gemini", "llama"]) assert.strictEqual((yield* post(s.url, { model, tools, messages: history })).status, 200)
      assert.deepStrictEqual(s.openai.lastBody().messages.slice(1), history.slice(1).map((m: any) => m.role === "tool" ? { role: "tool", content: m.content, tool_call_id: m.tool_call_id } : m))
      assert.deepStrictEqual(s.google.lastBody().contents.slice(1), [
        { role: "model", parts: [{ functionCall: { name: "get_weather", args: { city: "Paris" } } }, { functionCall: { name: "get_time", args: {} } }] },
        { role: "user", parts: [{ functionResponse: { name: "get_weather", response: { temp: 21 } } }, { functionResponse: { name: "get_time", response: { output: "12:00" } } }] }
      ])
      assert.deepStrictEqual(s.ollama.lastBody().messages.slice(1), [
        { role: "assistant", content: "", tool_calls: [{ id: "call_a", function: { name: "get_weather", arguments: { city: "Paris" } } }, { id: "call_b", function: { name: "get_time", arguments: {} } }] },
        { role: "tool", content: "{\"temp\":21}", tool_call_id: "call_a", tool_name: "get_weather" },
        { role: "tool", content: "12:00", tool_call_id: "call_b", tool_name: "get_time" }
      ])
    }))

  it.scopedLive("OpenAI n=2 streamed: each choice its index and finish, usage once (recorded once), cache replays both", () =>
    Effect.gen(function* () {
      const s = yield* serveRaw({ cache: { enabled: true } })
      s.openai.script(openaiSse([
        oc({ role: "assistant", content: "", refusal: null }, null, 0), oc({ role: "assistant", content: "", refusal: null }, null, 1),
        oc({ content: "Hi" }, null, 0), oc({ content: "Hello" }, null, 1), oc({}, "stop", 0), oc({}, "length", 1),
        { ...base, choices: [], usage: { prompt_tokens: 10, completion_tokens: 4, total_tokens: 14 } }
      ]))
      const ask = { model: "gpt", n: 2, temperature: 0, stream: true, stream_options: { include_usage: true }, messages }
      for (const cache of ["miss", "hit"]) {
        const r = yield* post(s.url, ask)
        assert.strictEqual(r.headers.get("x-modelgate-cache"), cache)
        const chunks = chunksOf(r.text)
        const got = reassemble(chunks)
        assert.deepStrictEqual([...got.entries()].map(([i, c]) => [i, c.role, c.content, c.finish]), [[0, "assistant", "Hi", "stop"], [1, "assistant", "Hello", "length"]])
        assert.deepStrictEqual(chunks.filter((c) => c.usage != null).map((c) => c.usage.total_tokens), [14])
      }
      const costs = yield* waitUntil(() => rows<{ prompt_tokens: number; completion_tokens: number; cache_hit: number }>(s.db, "SELECT prompt_tokens, completion_tokens, cache_hit FROM cost_records"), (r) => r.length >= 2)
      assert.deepStrictEqual(costs.map((c) => [c.prompt_tokens, c.completion_tokens, c.cache_hit]), [[10, 4, 0], [10, 4, 1]])
    }))
})
