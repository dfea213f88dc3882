/**
 * A Gemini model configured as `models/gemini-3-...` (the prefix the
 * adapter explicitly strips from the path, PROVIDERS.md: "strip it from
 * configured ids") is still Gemini 3: a history function-call turn without a
 * kept signature must carry Gemini's documented stand-in, or Gemini 3
 * answers 400 "Function call is missing a thought_signature".
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Google from "../src/Google.js"
import { requiresSignatures, unsignedHistory } from "../src/Google/ThoughtSignatures.js"
import { rawAdapter } from "./internal/rawUpstream.js"
import { answeredCall, ctxOf, keyOf, live, modelOf } from "./internal/fixtures.js"

const answer = JSON.stringify({
  candidates: [{ content: { role: "model", parts: [{ text: "It is 22C." }] }, finishReason: "STOP", index: 0 }],
  usageMetadata: { promptTokenCount: 20, candidatesTokenCount: 5, totalTokenCount: 25 },
  modelVersion: "gemini-3-pro-preview",
  responseId: "resp1"
})

describe("Gemini 3 configured with the models/ prefix", () => {
  it("requiresSignatures knows models/gemini-3-pro-preview", () => {
    assert.isTrue(requiresSignatures("gemini-3-pro-preview"))
    assert.isTrue(requiresSignatures("models/gemini-3-pro-preview"))
    assert.isFalse(requiresSignatures("models/gemini-2.5-flash"))
  })

  it.scoped("a history tool call (written elsewhere) gets the stand-in signature", () =>
    live(Effect.gen(function*() {
      const { provider, server } = yield* rawAdapter(Google.make, [{ body: answer }])
      const model = modelOf("google", "models/gemini-3-pro-preview")
      const call = { id: "toolu_01A", type: "function" as const, function: { name: "get_weather", arguments: "{\"city\":\"Paris\"}" } }
      yield* provider.chat(ctxOf(model, keyOf("google", "AIzaTESTKEY0000000"), {
        messages: answeredCall("weather in Paris?", call, "22C"),
        tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }]
      }))
      const sent = JSON.parse(server.requests[0]!.body) as { contents: Array<{ role: string; parts: Array<Record<string, unknown>> }> }
      assert.strictEqual(server.requests[0]!.path, "/v1beta/models/gemini-3-pro-preview:generateContent")
      const modelTurn = sent.contents.find((c) => c.role === "model")!
      assert.strictEqual(modelTurn.parts[0]!["thoughtSignature"], unsignedHistory)
    })))
})
