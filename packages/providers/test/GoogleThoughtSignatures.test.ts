/**
 * Gemini 3's thought signatures in tool loops: an OpenAI client sends its
 * tool calls back without them, and Gemini 3 refuses a function-call turn
 * without its signature. The adapter carries each signature in the id it
 * gives the tool call (whole or streamed answers) and sends it back with
 * that call, to the model that wrote it, from any adapter instance (a
 * restart, another gateway instance); history without a signature for the
 * model (another model's tool calls) goes with Gemini's documented
 * stand-in. The fake checks the current turn as Gemini 3 does.
 */
import { ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import { assert, describe, it } from "@effect/vitest"
import type { ChatRequest, ToolCall } from "@modelgate/domain/Chat"
import * as FakeGoogle from "@modelgate/testkit/FakeGoogle"
import { Effect, Either } from "effect"
import * as fc from "fast-check"
import * as Google from "../src/Google.js"
import { toGeminiRequest } from "../src/Google/Request.js"
import * as ThoughtSignatures from "../src/Google/ThoughtSignatures.js"
import { adapterOver, answeredCall, collect, ctxOf, keyOf, lastJson, live, modelOf } from "./internal/fixtures.js"
import { rawAdapter, sse } from "./internal/rawUpstream.js"

const key = keyOf("google", FakeGoogle.defaultApiKey)
const setup = adapterOver(FakeGoogle.make, Google.make)
/** Another adapter on the same fake: what a restarted gateway, or another instance, has. */
const freshAdapter = (fake: FakeGoogle.FakeGoogle) => Google.make(Effect.succeed(ProviderConfig.make({ baseUrl: fake.url, maxRetries: 0 })))
const parameters = { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
const tools = [{ type: "function" as const, function: { name: "get_weather", parameters } }]
const followUp = (call: ToolCall): Partial<ChatRequest> => ({ tools, messages: answeredCall("Paris", call, "18C") })
const modelPart = (sent: Record<string, unknown>) => (sent["contents"] as Array<{ parts: Array<Record<string, unknown>> }>)[1]!.parts[0]
const gemini3 = modelOf("google", "gemini-3-pro")
const idShape = /^[A-Za-z0-9_-]+$/

/** 4 KB of base64 (every character of its alphabet, `+` and `/` included) with `padding` `=`. */
const longSignature = (padding: 0 | 1 | 2) => Buffer.from(Array.from({ length: 3_000 - padding }, (_, i) => (i * 7) % 256)).toString("base64")

describe("Gemini thought signatures", () => {
  it.scoped("a tool call's signature goes back with it, whole or streamed; without it Gemini 3 refuses the turn", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup()

      const first = yield* provider.chat(ctxOf(gemini3, key, { tools, messages: [{ role: "user", content: "Paris" }] }))
      const call = first.response.choices[0].message.tool_calls![0]!
      assert.match(call.id, idShape)
      const second = yield* provider.chat(ctxOf(gemini3, key, followUp(call)))
      assert.strictEqual(second.response.choices[0].message.content, "Tool said: {\"output\":\"18C\"}")
      const firstSignature = modelPart(yield* lastJson(fake))!["thoughtSignature"]
      assert.match(String(firstSignature), /^sig-fake-\d+$/)

      // streamed: the signature arrives with the whole function call and goes in its id the same way
      const streamed = yield* Effect.flatMap(provider.stream(ctxOf(gemini3, key, { tools, messages: [{ role: "user", content: "Paris" }] })), (r) => collect(r.chunks))
      const delta = streamed.flatMap((c) => c.choices.flatMap((ch) => ch.delta.tool_calls ?? []))[0]!
      const streamedCall: ToolCall = { id: delta.id!, type: "function", function: { name: delta.function!.name!, arguments: delta.function!.arguments! } }
      const afterStream = yield* provider.chat(ctxOf(gemini3, key, followUp(streamedCall)))
      assert.strictEqual(afterStream.response.choices[0].finish_reason, "stop")
      const streamedSignature = modelPart(yield* lastJson(fake))!["thoughtSignature"]
      assert.match(String(streamedSignature), /^sig-fake-\d+$/)
      assert.notStrictEqual(streamedSignature, firstSignature)

      // a call without a signature (another model wrote it): Gemini's stand-in for unsigned history
      const foreign: ToolCall = { id: "call_from_openai", type: "function", function: { name: "get_weather", arguments: "{\"city\":\"Paris\"}" } }
      yield* provider.chat(ctxOf(gemini3, key, followUp(foreign)))
      assert.strictEqual(modelPart(yield* lastJson(fake))!["thoughtSignature"], ThoughtSignatures.unsignedHistory)
      // Gemini 2.5 needs none: the same history goes without one, and a signature of Gemini 3 never goes to it
      yield* provider.chat(ctxOf(modelOf("google", "gemini-2.5-flash"), key, followUp(call)))
      assert.notProperty(modelPart(yield* lastJson(fake)), "thoughtSignature")
    })))

  it.scoped("a fresh adapter (a restart, another gateway instance) sends the signature back to the model that wrote it, and to no other", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup()
      const first = yield* provider.chat(ctxOf(gemini3, key, { tools, messages: [{ role: "user", content: "Paris" }] }))
      const call = first.response.choices[0].message.tool_calls![0]!
      const given = `sig-${first.response.id}` // the fake signs answer <id> with sig-<id>

      const other = yield* freshAdapter(fake)
      const second = yield* other.chat(ctxOf(gemini3, key, followUp(call)))
      assert.strictEqual(second.response.choices[0].finish_reason, "stop")
      assert.strictEqual(modelPart(yield* lastJson(fake))!["thoughtSignature"], given)
      // the same model configured with the `models/` prefix is the same model
      yield* other.chat(ctxOf(modelOf("google", "models/gemini-3-pro"), key, followUp(call)))
      assert.strictEqual(modelPart(yield* lastJson(fake))!["thoughtSignature"], given)

      // another Gemini 3 model: the signature is not valid there, the stand-in rules apply
      yield* other.chat(ctxOf(modelOf("google", "gemini-3-flash"), key, followUp(call)))
      assert.strictEqual(modelPart(yield* lastJson(fake))!["thoughtSignature"], ThoughtSignatures.unsignedHistory)
      const next: ToolCall = { ...call, id: "call_next" }
      yield* other.chat(ctxOf(modelOf("google", "gemini-3-flash"), key, {
        tools,
        messages: [
          { role: "user", content: "Paris" },
          { role: "assistant", content: null, tool_calls: [call, next] },
          { role: "tool", tool_call_id: call.id, content: "18C" },
          { role: "tool", tool_call_id: next.id, content: "19C" }
        ]
      }))
      const parts = (((yield* lastJson(fake))["contents"]) as Array<{ parts: Array<Record<string, unknown>> }>)[1]!.parts
      assert.deepStrictEqual(parts.map((p) => p["thoughtSignature"]), [ThoughtSignatures.unsignedHistory, undefined], "a stand-in for the first call of a turn only")
    })))

  it.scoped("a streamed function call gets the same signed id as the whole answer's for the same call", () =>
    live(Effect.gen(function*() {
      const signature = longSignature(1)
      const parts = [{ functionCall: { name: "get_weather", args: { city: "Paris" } }, thoughtSignature: signature }]
      const usageMetadata = { promptTokenCount: 10, candidatesTokenCount: 5, totalTokenCount: 15 }
      const whole = { candidates: [{ content: { role: "model", parts }, finishReason: "STOP", index: 0 }], usageMetadata, modelVersion: "gemini-3-pro", responseId: "resp-1" }
      const events = [
        { candidates: [{ content: { role: "model", parts: [{ text: "Let me check." }] }, index: 0 }], modelVersion: "gemini-3-pro", responseId: "resp-1" },
        { candidates: [{ content: { role: "model", parts }, finishReason: "STOP", index: 0 }], usageMetadata, modelVersion: "gemini-3-pro", responseId: "resp-1" }
      ]
      const { provider } = yield* rawAdapter(Google.make, [
        { body: JSON.stringify(whole) },
        { body: sse(events), headers: { "content-type": "text/event-stream" } }
      ])
      const ctx = ctxOf(gemini3, key, { tools, messages: [{ role: "user", content: "Paris" }] })
      const answered = (yield* provider.chat(ctx)).response.choices[0].message.tool_calls![0]!.id
      const chunks = yield* Effect.flatMap(provider.stream(ctx), (r) => collect(r.chunks))
      const streamed = chunks.flatMap((c) => c.choices.flatMap((ch) => ch.delta.tool_calls ?? []))[0]!.id
      assert.strictEqual(streamed, answered)
      assert.isTrue(answered.startsWith(`call_resp-1_0_0${ThoughtSignatures.separator}`), answered)
      assert.match(answered, idShape)
      assert.strictEqual(ThoughtSignatures.signatureIn(answered, "gemini-3-pro"), signature)
    })))

  it("ids carry any signature exactly: every base64 character and padding, 4 KB, any other text", () => {
    const model = "gemini-3-pro-preview"
    const check = (signature: string) => {
      const id = ThoughtSignatures.signedId("call_r_0_0", model, signature)
      assert.match(id, idShape)
      assert.strictEqual(ThoughtSignatures.signatureIn(id, model), signature)
      assert.strictEqual(ThoughtSignatures.signatureIn(id, `models/${model}`), signature)
      assert.isUndefined(ThoughtSignatures.signatureIn(id, "gemini-3-flash-preview"), "valid for its model only")
      return id
    }
    for (const padding of [0, 1, 2] as const) {
      const signature = longSignature(padding)
      assert.match(signature, /\+/)
      assert.match(signature, /\//)
      const id = check(signature)
      assert.isAtMost(id.length, "call_r_0_0".length + 5 + 9 + signature.length, "no longer than the signature Gemini sent")
      // a client that cuts or changes the id: unsigned, never a corrupted signature
      assert.isUndefined(ThoughtSignatures.signatureIn(id.slice(0, -1), model))
      assert.isUndefined(ThoughtSignatures.signatureIn(id.slice(0, 64), model))
      assert.isUndefined(ThoughtSignatures.signatureIn(id.replace(/A/g, "a"), model))
    }
    // unpadded, odd trailing bits, not base64 at all: carried as text
    for (const text of ["QUI", "AAB=", "sig-fake-1", "not/base64==x", "===", "a=b", "ünïcode ✓"]) check(text)
    // an id that already holds the separator keeps its own part
    assert.strictEqual(ThoughtSignatures.signatureIn(ThoughtSignatures.signedId("call__ts_x", model, "c2ln"), model), "c2ln")
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => void check(Buffer.from(bytes).toString("base64") || "AA==")))
    fc.assert(fc.property(fc.string({ unit: "grapheme", minLength: 1 }), (text) => void check(text)))
  })

  it("the signature to send: its own model's; else the stand-in for a turn's first call on a model that requires one", () => {
    const id = ThoughtSignatures.signedId("call_a", "gemini-3-pro", "sig-a")
    assert.strictEqual(ThoughtSignatures.forCall("gemini-3-pro", id, true), "sig-a")
    assert.strictEqual(ThoughtSignatures.forCall("gemini-3-pro", id, false), "sig-a")
    assert.strictEqual(ThoughtSignatures.forCall("gemini-3-flash", id, true), ThoughtSignatures.unsignedHistory)
    assert.isUndefined(ThoughtSignatures.forCall("gemini-3-flash", id, false), "only the first call of a turn needs one")
    assert.isUndefined(ThoughtSignatures.forCall("gemini-2.5-pro", id, true), "Gemini 2.5 needs none")
    assert.strictEqual(ThoughtSignatures.forCall("gemini-3-pro", "call_a", true), ThoughtSignatures.unsignedHistory)
  })

  it("an error about a signed id quotes its start, not its few KB", () => {
    const id = `call_resp-1_0_0__ts_${"Ab9_-x".repeat(700)}`
    const refused = toGeminiRequest(
      { model: "m", messages: [{ role: "user", content: "Paris" }, { role: "tool", tool_call_id: id, content: "18C" }] },
      { provider: "google", model: "m" }
    )
    assert.isTrue(Either.isLeft(refused))
    const detail = Either.isLeft(refused) ? refused.left.message : ""
    assert.include(detail, "tool message answers unknown tool call call_resp-1_0_0__ts_")
    assert.isBelow(detail.length, 200)
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
