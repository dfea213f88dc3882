/**
 * n > 1 on Gemini (candidateCount): each streamed choice must open with its
 * own `role: "assistant"` delta, as OpenAI streams every choice. The
 * official `openai` client's stream helper (`finalChatCompletion`) throws
 * "missing role for choice 1" otherwise, so a user asking Gemini for two
 * candidates through the gateway with the stream helper got an error
 * instead of the answers.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import OpenAI from "openai"
import { post } from "./support/FourProviderStack.js"
import { chunksOf, geminiSse, serveRaw } from "./support/RawProviders.js"

const tools = [{ type: "function" as const, function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }]
const messages = [{ role: "user" as const, content: "weather in Paris?" }]

// candidateCount 2 as Gemini streams it: index omitted for candidate 0 (proto3 default), CRLF events.
const geminiTwoCandidates = geminiSse([
  {
    candidates: [
      { content: { role: "model", parts: [{ text: "Let me check." }] } },
      { content: { role: "model", parts: [{ functionCall: { name: "get_weather", args: { city: "Paris" } } }] }, finishReason: "STOP", index: 1 }
    ],
    usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 6, totalTokenCount: 16 },
    modelVersion: "gemini-2.5-flash",
    responseId: "resp-n2"
  },
  {
    candidates: [{ content: { role: "model", parts: [{ functionCall: { name: "get_weather", args: { city: "Paris" } } }] }, finishReason: "STOP" }],
    usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 12, totalTokenCount: 22 },
    modelVersion: "gemini-2.5-flash",
    responseId: "resp-n2"
  }
])

describe("Gemini n > 1 streamed", () => {
  it.scopedLive("every choice opens with role assistant; the openai client's stream helper assembles both", () =>
    Effect.gen(function* () {
      const s = yield* serveRaw()
      s.google.script(geminiTwoCandidates)
      const raw = yield* post(s.url, { model: "gemini", n: 2, stream: true, stream_options: { include_usage: true }, tools, messages })
      assert.strictEqual(s.google.lastBody().generationConfig?.candidateCount, 2)
      const chunks = chunksOf(raw.text)
      for (const index of [0, 1]) {
        const first = chunks.flatMap((c) => c.choices).find((c: any) => c.index === index)
        assert.strictEqual(first?.delta.role, "assistant", `choice ${index}: ${raw.text}`)
        const finishes = chunks.flatMap((c) => c.choices).filter((c: any) => c.index === index && c.finish_reason !== null)
        assert.deepStrictEqual(finishes.map((c: any) => c.finish_reason), ["tool_calls"])
      }
      assert.strictEqual(chunks.filter((c) => c.usage != null).length, 1)

      s.google.script(geminiTwoCandidates)
      const final = yield* Effect.promise(async () => {
        const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: "unused", maxRetries: 0 })
        const stream = client.chat.completions.stream({ model: "gemini", n: 2, tools, messages })
        return stream.finalChatCompletion().then((c) => c, (e: unknown) => String(e))
      })
      assert.notStrictEqual(typeof final, "string", String(final))
      if (typeof final === "string") return
      assert.deepStrictEqual(final.choices.map((c) => [c.index, c.message.role, c.finish_reason, c.message.tool_calls?.map((t) => t.type === "function" ? t.function.arguments : "")]), [
        [0, "assistant", "tool_calls", ["{\"city\":\"Paris\"}"]],
        [1, "assistant", "tool_calls", ["{\"city\":\"Paris\"}"]]
      ])
    }))
})
