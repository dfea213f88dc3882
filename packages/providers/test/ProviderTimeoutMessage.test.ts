/**
 * A provider that answers its own timeout (an HTTP 408, Anthropic's 504
 * `timeout_error`, Gemini's 504 DEADLINE_EXCEEDED) is a `Timeout` whose
 * message says the provider answered so, with its status: the gateway did
 * not wait out a duration of its own, so none is quoted ("after 0 ms").
 */
import { assert, describe, it } from "@effect/vitest"
import { classifyAnthropic } from "../src/Anthropic/Errors.js"
import { classifyGoogle } from "../src/Google/Errors.js"
import { genericError } from "../src/internal/index.js"
import { classify as classifyOpenAi } from "../src/OpenAi/errors.js"
import { errorContextOf } from "./internal/fixtures.js"

const info = { model: "m", keyId: undefined, secrets: [] }

describe("a timeout the provider answered", () => {
  const answered = [
    ["Anthropic 504 timeout_error", classifyAnthropic(errorContextOf("anthropic", info, 504, JSON.stringify({ type: "error", error: { type: "timeout_error", message: "Request timed out" } }))), 504],
    ["Gemini 504 DEADLINE_EXCEEDED", classifyGoogle(errorContextOf("google", info, 504, JSON.stringify({ error: { code: 504, message: "Deadline exceeded", status: "DEADLINE_EXCEEDED" } }))), 504],
    ["OpenAI 408", classifyOpenAi(errorContextOf("openai", info, 408, JSON.stringify({ error: { message: "Request timed out", type: "timeout" } }))), 408],
    ["a generic 408", genericError(errorContextOf("ollama", info, 408, "timeout"), "timeout", undefined), 408]
  ] as const

  it("is a Timeout that names the provider's status, without a made-up duration", () => {
    for (const [name, error, status] of answered) {
      assert.strictEqual(error._tag, "Timeout", name)
      assert.include(error.message, `HTTP ${status}`, name)
      assert.include(error.message, "provider-side timeout", name)
      assert.notMatch(error.message, /after \d+ ms/, `${name}: ${error.message}`)
    }
  })
})
