/**
 * A usage the gateway estimates because the provider reported none (an
 * OpenAI-compatible server without usage, Ollama without
 * `prompt_eval_count`, a Gemini stream cut before its usage) is what the
 * rate limiter settles and the budgets are charged. It counts a request as
 * the reservation did (TokenEstimator's by-script estimate): images, audio
 * and files as such, the JSON schema of `response_format`, and each
 * message's framing, not only the text of the messages. Counting the text
 * alone settled a request with an audio clip at a dozen tokens, releasing
 * the thousand the limiter had reserved for it.
 */
import { assert, describe, it } from "@effect/vitest"
import { nonTextPartTokens, roughPromptTokens } from "@modelgate/core/TokenEstimator"
import type { ChatRequest } from "@modelgate/domain/Chat"
import { estimatedUsage } from "../src/internal/usage.js"
import { usageOf } from "../src/Ollama/normalise.js"

const audio: ChatRequest = {
  model: "gpt-4o-audio-preview",
  messages: [{
    role: "user",
    content: [{ type: "text", text: "Transcribe this." }, { type: "input_audio", input_audio: { data: "UklGRg==", format: "wav" } }]
  }]
}
const image: ChatRequest = {
  model: "llava",
  messages: [{
    role: "user",
    content: [{ type: "text", text: "What is in this picture?" }, { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } }]
  }]
}
const schema: ChatRequest = {
  model: "qwen",
  messages: [{ role: "user", content: "Extract the invoice." }],
  response_format: {
    type: "json_schema",
    json_schema: {
      name: "invoice",
      schema: {
        type: "object",
        properties: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`field_${i}`, { type: "string", description: `The invoice's field number ${i}` }]))
      }
    }
  }
}

describe("estimated usage of requests with parts", () => {
  it("an audio clip counts as the reservation counted it, not as nothing", () => {
    const usage = estimatedUsage(audio, "Hello.")
    assert.isAtLeast(usage.prompt_tokens, nonTextPartTokens)
    assert.strictEqual(usage.prompt_tokens, roughPromptTokens(audio))
  })

  it("an Ollama answer without prompt_eval_count counts the image it was sent", () => {
    const usage = usageOf({ done: true, message: { role: "assistant", content: "A cat." }, eval_count: 3 }, image, "A cat.")
    assert.strictEqual(usage.prompt_tokens, roughPromptTokens(image))
    assert.isAbove(usage.prompt_tokens, 258)
  })

  it("a response_format JSON schema counts as prompt tokens", () => {
    const usage = estimatedUsage(schema, "{}")
    assert.strictEqual(usage.prompt_tokens, roughPromptTokens(schema))
    assert.isAbove(usage.prompt_tokens, JSON.stringify(schema.response_format).length / 4)
  })
})
