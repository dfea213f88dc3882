/**
 * An image may come as any RFC 2397 data URL: percent-encoded rather than
 * base64 (`data:image/svg+xml;utf8,<svg…>`, `data:image/png,%89PNG…`), or
 * with parameters before `;base64`. Anthropic, Gemini and Ollama take images
 * only as base64 (PROVIDERS.md), so the payload is sent as the base64 of its
 * bytes; a data URL that cannot be read, or of an image type the provider
 * does not take (Anthropic, Gemini), is refused with a BadRequest naming its
 * field, never sent on broken nor left out.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ChatRequest } from "@modelgate/domain/Chat"
import * as FakeGoogle from "@modelgate/testkit/FakeGoogle"
import * as FakeOllama from "@modelgate/testkit/FakeOllama"
import { Effect, Either } from "effect"
import { toAnthropicRequest } from "../src/Anthropic/Request.js"
import { toGeminiRequest } from "../src/Google/Request.js"
import * as Google from "../src/Google.js"
import * as Ollama from "../src/Ollama.js"
import { requestBody } from "../src/Ollama/wire.js"
import { adapterOver, ctxOf, keyOf, live, modelOf } from "./internal/fixtures.js"

/** The 8-byte PNG signature, percent-encoded where not printable, and its base64. */
const pngPercent = "data:image/png,%89PNG%0D%0A%1A%0A"
const pngBase64 = "iVBORw0KGgo="
const svg = `<svg xmlns="http://www.w3.org/2000/svg"><rect fill="#f00" width="1" height="1"/></svg>`
/** The SVG as browsers and editors write it: literal, `#` escaped (it would start a fragment). */
const svgUrl = `data:image/svg+xml;utf8,${svg.replace("#", "%23")}`
const svgBase64 = Buffer.from(svg, "utf8").toString("base64")
const withParameters = `data:image/png;name=shot.png;base64,${pngBase64}`
const field = "messages[0].content[1].image_url.url"

const requestWith = (url: string): ChatRequest => ({
  model: "m",
  messages: [{ role: "user", content: [{ type: "text", text: "what is this?" }, { type: "image_url", image_url: { url } }] }]
})

const unreadable = [
  ["no comma", "data:image/png;base64iVBORw0KGgo="],
  ["a bad percent escape", "data:image/png,%89PNG%zz"],
  ["a percent sign cut short", "data:image/svg+xml,<svg>100%"]
] as const

const anthropic = (url: string) =>
  toAnthropicRequest(requestWith(url), modelOf("anthropic", "claude-x"), { stream: false, context: { provider: "anthropic", model: "m" } })

const gemini = (url: string) => toGeminiRequest(requestWith(url), { provider: "google", model: "m" })

describe("data: URL images", () => {
  describe("Anthropic", () => {
    const imageOf = (url: string) => Either.getOrThrow(anthropic(url)).messages[0]!.content[1]

    it("a percent-encoded PNG goes as the base64 of its bytes", () => {
      assert.deepStrictEqual(imageOf(pngPercent), { type: "image", source: { type: "base64", media_type: "image/png", data: pngBase64 } })
    })

    it("a data URL with parameters before ;base64 keeps its payload", () => {
      assert.deepStrictEqual(imageOf(withParameters), { type: "image", source: { type: "base64", media_type: "image/png", data: pngBase64 } })
    })

    it("an SVG (a media type Anthropic does not take: jpeg, png, gif, webp) is refused naming the field", () => {
      const refused = Either.getLeft(anthropic(svgUrl))
      assert.strictEqual(refused._tag, "Some")
      if (refused._tag === "Some") {
        assert.strictEqual(refused.value._tag, "BadRequest")
        assert.strictEqual(refused.value.param, field)
        assert.include(refused.value.message, "image/svg+xml")
      }
    })

    for (const [what, url] of unreadable) {
      it(`a data URL with ${what} is refused naming the field, not sent as an image URL`, () => {
        const refused = Either.getLeft(anthropic(url))
        assert.strictEqual(refused._tag, "Some")
        if (refused._tag === "Some") {
          assert.strictEqual(refused.value.param, field)
          assert.include(refused.value.message, field)
        }
      })
    }
  })

  describe("Gemini", () => {
    const partOf = (url: string) => Either.getOrThrow(gemini(url)).contents[0]!.parts[1]

    it("a percent-encoded PNG goes as inlineData of its bytes in base64", () => {
      assert.deepStrictEqual(partOf(pngPercent), { inlineData: { mimeType: "image/png", data: pngBase64 } })
    })

    for (const [what, url, type] of [["an SVG", svgUrl, "image/svg+xml"], ["a GIF", "data:image/gif;base64,R0lGODlh", "image/gif"]] as const) {
      it(`${what} (a media type Gemini does not take: png, jpeg, webp, heic, heif) is refused naming the field`, () => {
        const refused = Either.getLeft(gemini(url))
        assert.strictEqual(refused._tag, "Some")
        if (refused._tag === "Some") {
          assert.strictEqual(refused.value._tag, "BadRequest")
          assert.strictEqual(refused.value.param, field)
          assert.include(refused.value.message, `${field} is ${type}`)
        }
      })
    }

    it("HEIC and HEIF images go as inlineData", () => {
      assert.deepStrictEqual(partOf("data:image/heic;base64,AAAAGGZ0eXA="), { inlineData: { mimeType: "image/heic", data: "AAAAGGZ0eXA=" } })
      assert.deepStrictEqual(partOf("data:image/heif;base64,AAAAGGZ0eXA="), { inlineData: { mimeType: "image/heif", data: "AAAAGGZ0eXA=" } })
    })

    it.scoped("the adapter answers a GIF with a BadRequest naming the field and sends nothing", () =>
      live(Effect.gen(function*() {
        const { fake, provider } = yield* adapterOver(FakeGoogle.make, Google.make)()
        const model = modelOf("google", "gemini-fake")
        const key = keyOf("google", FakeGoogle.defaultApiKey)
        const failed = yield* Effect.flip(provider.chat(ctxOf(model, key, { messages: requestWith("data:image/gif;base64,R0lGODlh").messages })))
        assert.strictEqual(failed._tag, "BadRequest")
        if (failed._tag === "BadRequest") assert.strictEqual(failed.param, field)
        assert.lengthOf(yield* fake.requests, 0)
      })))

    it("a data URL with parameters before ;base64 keeps its payload", () => {
      assert.deepStrictEqual(partOf(withParameters), { inlineData: { mimeType: "image/png", data: pngBase64 } })
    })

    for (const [what, url] of unreadable) {
      it(`a data URL with ${what} is refused naming the field`, () => {
        const refused = Either.getLeft(gemini(url))
        assert.strictEqual(refused._tag, "Some")
        if (refused._tag === "Some") {
          assert.strictEqual(refused.value._tag, "BadRequest")
          assert.strictEqual(refused.value.param, field)
        }
      })
    }
  })

  describe("Ollama", () => {
    const imagesOf = (url: string) => (Either.getOrThrow(requestBody(requestWith(url), "llava", false))["messages"] as ReadonlyArray<Record<string, unknown>>)[0]!["images"]

    it("percent-encoded PNG, utf8 SVG and a URL with parameters all go to images as base64", () => {
      assert.deepStrictEqual(imagesOf(pngPercent), [pngBase64])
      assert.deepStrictEqual(imagesOf(svgUrl), [svgBase64])
      assert.deepStrictEqual(imagesOf(withParameters), [pngBase64])
    })

    for (const [what, url] of unreadable) {
      it(`a data URL with ${what} is refused naming the field, not dropped from images`, () => {
        const refused = Either.getLeft(requestBody(requestWith(url), "llava", false))
        assert.strictEqual(refused._tag, "Some")
        if (refused._tag === "Some") assert.strictEqual(refused.value.param, field)
      })
    }

    it.scoped("the adapter answers an unreadable data URL with a BadRequest naming the field and sends nothing", () =>
      live(Effect.gen(function*() {
        const { fake, provider } = yield* adapterOver(FakeOllama.make, Ollama.make)()
        const model = modelOf("ollama", "llava", "local-vision")
        const failed = yield* Effect.flip(provider.chat(ctxOf(model, undefined, { messages: requestWith(unreadable[1][1]).messages })))
        assert.strictEqual(failed._tag, "BadRequest")
        if (failed._tag === "BadRequest") assert.strictEqual(failed.param, field)
        assert.lengthOf(yield* fake.requests, 0)
      })))
  })
})
