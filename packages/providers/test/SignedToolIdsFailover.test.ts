/**
 * A Gemini tool call's id carries its thought signature (a few KB,
 * Google/ThoughtSignatures.ts). When that history goes to another provider
 * (a failover, or the client switching models), each adapter's id rule
 * applies to it as to any foreign id: OpenAI gets a stable 40-character
 * stand-in (it refuses longer ids), Anthropic and Ollama the id as it is
 * (letters, digits, `_`, `-` only); the call and its result alike, so the
 * loop still answers. The fakes refuse what the real APIs refuse.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ChatRequest } from "@modelgate/domain/Chat"
import * as FakeAnthropic from "@modelgate/testkit/FakeAnthropic"
import * as FakeOllama from "@modelgate/testkit/FakeOllama"
import * as FakeOpenAi from "@modelgate/testkit/FakeOpenAi"
import { Effect } from "effect"
import * as Anthropic from "../src/Anthropic.js"
import { signedId } from "../src/Google/ThoughtSignatures.js"
import * as Ollama from "../src/Ollama.js"
import * as OpenAi from "../src/OpenAi.js"
import { adapterOver, ctxOf, keyOf, lastJson, live, modelOf } from "./internal/fixtures.js"

/** A Gemini 3 tool call's id with a 4 KB signature, as the Google adapter gives it. */
const signature = Buffer.from(Array.from({ length: 3_000 }, (_, i) => (i * 7) % 256)).toString("base64")
const id = signedId("call_resp-1_0_0", "gemini-3-pro", signature)
const tools = [{ type: "function" as const, function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }]
const history: Partial<ChatRequest> = {
  tools,
  messages: [
    { role: "user", content: "weather in Paris?" },
    { role: "assistant", content: null, tool_calls: [{ id, type: "function", function: { name: "get_weather", arguments: "{\"city\":\"Paris\"}" } }] },
    { role: "tool", tool_call_id: id, content: "18C" }
  ]
}

type Sent = ReadonlyArray<Record<string, unknown>>

describe("a Gemini history with signed tool-call ids on another provider", () => {
  it.scoped("OpenAI: the id goes as a stable 40-character stand-in, in the call and its result", () =>
    live(Effect.gen(function*() {
      assert.isAbove(id.length, 4_000)
      const { fake, provider } = yield* adapterOver(FakeOpenAi.make, OpenAi.make, (fake) => fake.baseUrl)()
      const ctx = ctxOf(modelOf("openai", "gpt-4o-mini"), keyOf("openai", "sk-test-openai"), history)
      const answer = yield* provider.chat(ctx)
      assert.strictEqual(answer.response.choices[0].finish_reason, "stop")
      const sent = (yield* lastJson(fake))["messages"] as Sent
      const callId = (sent[1]!["tool_calls"] as Sent)[0]!["id"]
      assert.match(String(callId), /^call_[A-Za-z0-9_-]{35}$/)
      assert.strictEqual(sent[2]!["tool_call_id"], callId)
      // stable: the next turn sends the same stand-in
      yield* provider.chat(ctx)
      assert.strictEqual(((yield* lastJson(fake))["messages"] as Sent)[2]!["tool_call_id"], callId)
    })))

  it.scoped("Anthropic: the id is one it takes, and goes as it is in tool_use and tool_result", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* adapterOver(FakeAnthropic.make, Anthropic.make)()
      const answer = yield* provider.chat(ctxOf(modelOf("anthropic", "claude-fake-1"), keyOf("anthropic", FakeAnthropic.defaultApiKey), history))
      assert.strictEqual(answer.response.choices[0].finish_reason, "stop")
      const sent = (yield* lastJson(fake))["messages"] as ReadonlyArray<{ content: Sent }>
      assert.strictEqual(sent[1]!.content[0]!["id"], id)
      assert.strictEqual(sent[2]!.content[0]!["tool_use_id"], id)
    })))

  it.scoped("Ollama: the id goes as it is, and the result still names its tool", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* adapterOver(FakeOllama.make, Ollama.make)()
      yield* provider.chat(ctxOf(modelOf("ollama", "llama3.2"), undefined, history))
      const sent = (yield* lastJson(fake))["messages"] as Sent
      assert.strictEqual(sent[2]!["tool_call_id"], id)
      assert.strictEqual(sent[2]!["tool_name"], "get_weather")
    })))
})
