/**
 * Gemini 3's thought signatures in tool loops: an OpenAI client sends its
 * tool calls back without them, and Gemini 3 refuses a function-call turn
 * without its signature. The adapter keeps each signature under the id it
 * gave the tool call (whole or streamed answers) and sends it back with that
 * call, to the model that wrote it; history it has no signature for (another
 * model's tool calls) goes with Gemini's documented stand-in. The fake
 * checks the current turn as Gemini 3 does.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ChatRequest, ToolCall } from "@modelgate/domain/Chat"
import * as FakeGoogle from "@modelgate/testkit/FakeGoogle"
import { Effect } from "effect"
import * as Google from "../src/Google.js"
import * as ThoughtSignatures from "../src/Google/ThoughtSignatures.js"
import { adapterOver, answeredCall, collect, ctxOf, keyOf, lastJson, live, modelOf } from "./internal/fixtures.js"

const key = keyOf("google", FakeGoogle.defaultApiKey)
const setup = adapterOver(FakeGoogle.make, Google.make)
const parameters = { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
const tools = [{ type: "function" as const, function: { name: "get_weather", parameters } }]
const followUp = (call: ToolCall): Partial<ChatRequest> => ({ tools, messages: answeredCall("Paris", call, "18C") })
const modelPart = (sent: Record<string, unknown>) => (sent["contents"] as Array<{ parts: Array<Record<string, unknown>> }>)[1]!.parts[0]

describe("Gemini thought signatures", () => {
  it.scoped("a tool call's signature goes back with it, whole or streamed; without it Gemini 3 refuses the turn", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup()
      const gemini3 = modelOf("google", "gemini-3-pro")

      const first = yield* provider.chat(ctxOf(gemini3, key, { tools, messages: [{ role: "user", content: "Paris" }] }))
      const call = first.response.choices[0].message.tool_calls![0]!
      const second = yield* provider.chat(ctxOf(gemini3, key, followUp(call)))
      assert.strictEqual(second.response.choices[0].message.content, "Tool said: {\"output\":\"18C\"}")
      const firstSignature = modelPart(yield* lastJson(fake))!["thoughtSignature"]
      assert.match(String(firstSignature), /^sig-fake-\d+$/)

      // streamed: the signature arrives with the whole function call and is kept the same way
      const streamed = yield* Effect.flatMap(provider.stream(ctxOf(gemini3, key, { tools, messages: [{ role: "user", content: "Paris" }] })), (r) => collect(r.chunks))
      const delta = streamed.flatMap((c) => c.choices.flatMap((ch) => ch.delta.tool_calls ?? []))[0]!
      const streamedCall: ToolCall = { id: delta.id!, type: "function", function: { name: delta.function!.name!, arguments: delta.function!.arguments! } }
      const afterStream = yield* provider.chat(ctxOf(gemini3, key, followUp(streamedCall)))
      assert.strictEqual(afterStream.response.choices[0].finish_reason, "stop")
      const streamedSignature = modelPart(yield* lastJson(fake))!["thoughtSignature"]
      assert.match(String(streamedSignature), /^sig-fake-\d+$/)
      assert.notStrictEqual(streamedSignature, firstSignature)

      // a call this adapter never saw (another model wrote it): Gemini's stand-in for unsigned history
      const foreign: ToolCall = { id: "call_from_openai", type: "function", function: { name: "get_weather", arguments: "{\"city\":\"Paris\"}" } }
      yield* provider.chat(ctxOf(gemini3, key, followUp(foreign)))
      assert.strictEqual(modelPart(yield* lastJson(fake))!["thoughtSignature"], ThoughtSignatures.unsignedHistory)
      // Gemini 2.5 needs none: the same history goes without one, and a signature of Gemini 3 never goes to it
      yield* provider.chat(ctxOf(modelOf("google", "gemini-2.5-flash"), key, followUp(call)))
      assert.notProperty(modelPart(yield* lastJson(fake)), "thoughtSignature")
    })))

  it("keeps signatures per model and forgets the oldest past its capacity", () => {
    const store = ThoughtSignatures.make(2)
    store.remember("gemini-3-pro", "call_a", "sig-a")
    assert.strictEqual(store.forCall("gemini-3-pro", "call_a", true), "sig-a")
    // a signature is valid for the model that wrote it only
    assert.strictEqual(store.forCall("gemini-3-flash", "call_a", true), ThoughtSignatures.unsignedHistory)
    assert.isUndefined(store.forCall("gemini-3-flash", "call_a", false), "only the first call of a turn needs one")
    assert.isUndefined(store.forCall("gemini-2.5-pro", "call_a", true), "Gemini 2.5 needs none")
    store.remember("gemini-3-pro", "call_b", "sig-b")
    store.remember("gemini-3-pro", "call_c", "sig-c")
    assert.strictEqual(store.forCall("gemini-3-pro", "call_a", false), undefined)
    assert.strictEqual(store.forCall("gemini-3-pro", "call_c", false), "sig-c")
  })

  it.scoped("without the signature Gemini 3 refuses the turn (the fake checks the current turn as the API does)", () =>
    live(Effect.gen(function*() {
      const { fake } = yield* setup()
      const body = {
        contents: [
          { role: "user", parts: [{ text: "Paris" }] },
          { role: "model", parts: [{ functionCall: { name: "get_weather", args: { city: "Paris" } } }] },
          { role: "user", parts: [{ functionResponse: { name: "get_weather", response: { output: "18C" } } }] }
        ]
      }
      const post = (model: string) =>
        fetch(`${fake.url}/v1beta/models/${model}:generateContent`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-goog-api-key": FakeGoogle.defaultApiKey },
          body: JSON.stringify(body)
        })
      const refused = yield* Effect.promise(() => post("gemini-3-pro").then(async (r) => ({ status: r.status, text: await r.text() })))
      assert.strictEqual(refused.status, 400)
      assert.include(refused.text, "Function call `get_weather` in the `2.` content block is missing a `thought_signature`.")
      const older = yield* Effect.promise(() => post("gemini-2.5-flash").then((r) => r.status))
      assert.strictEqual(older, 200)
    })))
})
