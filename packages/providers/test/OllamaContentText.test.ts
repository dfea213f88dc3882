/**
 * Ollama takes `content` as a string and images in `images`
 * (PROVIDERS.md). A user message of text and image parts must send the text
 * as the user wrote it; each image part must not add a stray newline to it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import { toMessages } from "../src/Ollama/wire.js"

describe("Ollama multi-part user content", () => {
  it("text + image parts: the text alone, the image in images", () => {
    const [message] = Either.getOrThrow(toMessages({
      model: "llama",
      messages: [{
        role: "user",
        content: [
          { type: "text", text: "What is in this picture?" },
          { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } }
        ]
      }]
    }))
    assert.deepStrictEqual(message, { role: "user", content: "What is in this picture?", images: ["iVBORw0KGgo="] })
  })

  it("image first, then two text parts: the texts joined by a newline only", () => {
    const [message] = Either.getOrThrow(toMessages({
      model: "llama",
      messages: [{
        role: "user",
        content: [
          { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } },
          { type: "text", text: "first" },
          { type: "text", text: "second" }
        ]
      }]
    }))
    assert.strictEqual(message!["content"], "first\nsecond")
  })

  it("a data URL with parameters before ;base64 (a name, a charset) keeps its image: the same URLs Anthropic and Gemini read", () => {
    const [message] = Either.getOrThrow(toMessages({
      model: "llama",
      messages: [{
        role: "user",
        content: [
          { type: "text", text: "what is this?" },
          { type: "image_url", image_url: { url: "data:image/png;name=shot.png;base64,iVBORw0KGgo=" } }
        ]
      }]
    }))
    assert.deepStrictEqual(message, { role: "user", content: "what is this?", images: ["iVBORw0KGgo="] })
  })
})
