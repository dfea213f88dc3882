/**
 * A model's `refusedParameters`: the sampling hints it refuses are left out
 * of the request sent to it (the rest of the request untouched), and a
 * request with any other field it refuses is one it cannot serve.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ChatRequest } from "@modelgate/domain/Chat"
import { refusedBy, withoutRefusedHints } from "../src/ModelRegistry/Refused.js"
import { model } from "./RoutingFixtures.js"

const ask = (extra: Partial<ChatRequest> = {}): ChatRequest => ({ model: "auto", messages: [{ role: "user", content: "hi" }], ...extra })
const reasoner = model("o4-mini", { refusedParameters: ["temperature", "top_p", "presence_penalty", "stop", "n"] })

describe("refusedParameters", () => {
  it("leaves out the sampling hints the model refuses and keeps everything else, extras included", () => {
    const request = { ...ask({ temperature: 0, top_p: 0.5, seed: 7, max_tokens: 50 }), prediction: { type: "content" } } as ChatRequest
    assert.deepStrictEqual(withoutRefusedHints(request, reasoner), {
      model: "auto",
      messages: request.messages,
      seed: 7,
      max_tokens: 50,
      prediction: { type: "content" }
    } as ChatRequest)
    // Nothing to leave out: the very same request (no copy), and the caller's request is never changed.
    const plain = ask({ seed: 7 })
    assert.strictEqual(withoutRefusedHints(plain, reasoner), plain)
    assert.strictEqual(withoutRefusedHints(request, model("gpt-4o-mini")), request)
    assert.strictEqual(request.temperature, 0)
  })

  it("a field other than a sampling hint makes the request one the model cannot serve, naming it; n: 1 and null ask for nothing", () => {
    assert.deepStrictEqual(refusedBy(ask({ stop: ["END"] }), reasoner), {
      param: "stop",
      reason: "o4-mini refuses stop (its registry entry lists it in refusedParameters)"
    })
    assert.strictEqual(refusedBy(ask({ n: 2 }), reasoner)?.param, "n")
    assert.isUndefined(refusedBy(ask({ n: 1 }), reasoner))
    assert.isUndefined(refusedBy(ask({ stop: null }), reasoner))
    assert.isUndefined(refusedBy(ask({ temperature: 0.2 }), reasoner), "a hint is left out, not refused")
    assert.isUndefined(refusedBy(ask({ stop: ["END"] }), model("gpt-4o-mini")))
  })
})
