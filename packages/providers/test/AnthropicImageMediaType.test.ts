/**
 * Anthropic takes a base64 image's `media_type` only as one of
 * image/jpeg, image/png, image/gif, image/webp (PROVIDERS.md, Anthropic
 * request fields). OpenAI clients commonly send `data:image/jpg;base64,...`
 * (OpenAI takes it); forwarded verbatim it is a 400 for the whole request.
 * Nor does it take an image whose bytes are of another type than the one
 * declared, which OpenAI reads from the bytes.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ChatRequest } from "@modelgate/domain/Chat"
import { modelOf } from "@modelgate/testkit/TestModel"
import { Either } from "effect"
import { toAnthropicRequest } from "../src/Anthropic/Request.js"

const requestWith = (url: string): ChatRequest => ({
  model: "claude-test",
  messages: [{ role: "user", content: [{ type: "text", text: "what is this?" }, { type: "image_url", image_url: { url } }] }]
})

const mediaTypeOf = (request: ChatRequest): unknown => {
  const body = toAnthropicRequest(request, modelOf("anthropic", "claude-x"), { stream: false, context: { provider: "anthropic", model: "m" } })
  assert.isTrue(Either.isRight(body))
  const blocks = Either.getOrThrow(body).messages[0]!.content
  const image = blocks.find((b) => b.type === "image") as { source: { media_type?: string } }
  return image.source.media_type
}

describe("Anthropic image media types", () => {
  it("data:image/jpg is sent as image/jpeg", () => {
    assert.strictEqual(mediaTypeOf(requestWith("data:image/jpg;base64,/9j/4AAQSkZJRg==")), "image/jpeg")
  })

  it("an upper-case media type is sent lower-case", () => {
    assert.strictEqual(mediaTypeOf(requestWith("data:image/PNG;base64,iVBORw0KGgo=")), "image/png")
  })

  it("image/png stays as it is", () => {
    assert.strictEqual(mediaTypeOf(requestWith("data:image/png;base64,iVBORw0KGgo=")), "image/png")
  })

  // Anthropic checks a base64 image's bytes against its media type ("The image was specified using the image/png media
  // type, but the image appears to be a image/jpeg image", a 400 for the whole request), where OpenAI reads the bytes:
  // screenshot tools and clients that label every image image/png send JPEGs so. The type the bytes show is sent.
  it("an image whose bytes are of another of Anthropic's types is sent as the type its bytes show", () => {
    const jpeg = "/9j/4AAQSkZJRgAB"
    const png = "iVBORw0KGgoAAAANSUhEUg=="
    const gif = "R0lGODlhAQABAAAA"
    const webp = "UklGRiQAAABXRUJQVlA4IBgA"
    assert.strictEqual(mediaTypeOf(requestWith(`data:image/png;base64,${jpeg}`)), "image/jpeg")
    assert.strictEqual(mediaTypeOf(requestWith(`data:image/jpeg;base64,${png}`)), "image/png")
    assert.strictEqual(mediaTypeOf(requestWith(`data:image/png;base64,${gif}`)), "image/gif")
    assert.strictEqual(mediaTypeOf(requestWith(`data:image/jpg;base64,${webp}`)), "image/webp")
    // Bytes of no type it knows: the declared type, as before.
    assert.strictEqual(mediaTypeOf(requestWith("data:image/png;base64,AAAAAAAAAAAA")), "image/png")
  })
})
