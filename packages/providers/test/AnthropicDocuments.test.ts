/**
 * OpenAI `file` parts sent to Claude as `document` blocks: a PDF as a base64
 * source, a plain-text file as a text source (Anthropic takes a base64
 * source only for `application/pdf`, a 400 for any other type), and a file
 * of another type refused before the call, so routing tries a provider that
 * takes it rather than sending Claude a request it answers with a 400.
 */
import { ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import type { ContentPart } from "@modelgate/domain/Chat"
import { assert, describe, it } from "@effect/vitest"
import { validateMessages } from "@modelgate/testkit/FakeAnthropic/validate"
import { Effect, Either } from "effect"
import * as Anthropic from "../src/Anthropic.js"
import { toAnthropicRequest } from "../src/Anthropic/Request.js"
import { live, modelOf } from "./internal/fixtures.js"

const model = modelOf("anthropic", "claude-fake-1", "claude-test")
const config = Effect.succeed(ProviderConfig.make({ baseUrl: "http://127.0.0.1:1" }))
const withFile = (file_data: string): ReadonlyArray<ContentPart> => [
  { type: "text", text: "summarise" },
  { type: "file", file: { file_data, filename: "notes" } }
]

const sentBlocks = (file_data: string) => {
  const body = toAnthropicRequest({ model: "m", messages: [{ role: "user", content: withFile(file_data) }] }, model, {
    stream: false,
    context: { provider: "anthropic", model: "m" }
  })
  assert.isTrue(Either.isRight(body))
  // What the Messages API checks of a document (a base64 source is a PDF only), as the fake checks it.
  assert.isUndefined(validateMessages(Either.getOrThrow(body)))
  return Either.getOrThrow(body).messages[0]!.content
}

describe("Anthropic file parts", () => {
  it("a PDF goes as a base64 document", () => {
    assert.deepStrictEqual(sentBlocks("data:application/pdf;base64,JVBERi0=")[1], {
      type: "document",
      source: { type: "base64", media_type: "application/pdf", data: "JVBERi0=" }
    })
  })

  it("a plain-text file goes as a text document with its decoded text", () => {
    const text = "Résumé: line 1\nline 2"
    assert.deepStrictEqual(sentBlocks(`data:text/plain;base64,${Buffer.from(text, "utf8").toString("base64")}`)[1], {
      type: "document",
      source: { type: "text", media_type: "text/plain", data: text }
    })
    assert.deepStrictEqual(sentBlocks("data:text/plain;charset=utf-8,a%20b")[1], {
      type: "document",
      source: { type: "text", media_type: "text/plain", data: "a b" }
    })
  })

  it.scoped("a file of another type is refused before the call, naming its type", () =>
    live(Effect.gen(function*() {
      const adapter = yield* Anthropic.make(config)
      const refusal = (file_data: string) =>
        adapter.cannotServe?.({ model: "m", messages: [{ role: "user", content: withFile(file_data) }] }, model)
      assert.strictEqual(refusal("data:application/pdf;base64,JVBERi0="), undefined)
      assert.strictEqual(refusal("data:text/plain;base64,aGk="), undefined)
      assert.deepStrictEqual(refusal("data:text/csv;base64,YSxi"), {
        param: "messages",
        reason: "anthropic takes files as application/pdf, text/plain; the request has one of text/csv"
      })
      assert.strictEqual(
        refusal("data:application/vnd.openxmlformats-officedocument.wordprocessingml.document;base64,UEsD")?.param,
        "messages"
      )
    })))
})
