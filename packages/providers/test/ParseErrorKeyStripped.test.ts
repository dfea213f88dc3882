/**
 * A provider answer that does not decode is a `MalformedResponse` whose
 * detail quotes the decoder's first complaint ("Expected ..., actual <value>")
 * and an excerpt of the body. Both are the provider's text: an
 * OpenAI-compatible upstream that puts the key it was sent into a field of
 * the wrong shape (an in-stream error whose `message` is an object, say)
 * must not carry that key into the error, whose message reaches the 502
 * body, the logs and the failover rows.
 */
import { Fault } from "@modelgate/testkit/FakeServer"
import * as FakeOpenAi from "@modelgate/testkit/FakeOpenAi"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as OpenAi from "../src/OpenAi.js"
import { adapterOver, collect, ctxOf, keyOf, live, modelOf } from "./internal/fixtures.js"

/** A key of an OpenAI-compatible server: not shaped like any provider's, so only the key itself can be stripped. */
const secret = "proxy-key-7f3a9c2e51"
const model = modelOf("openai", "gpt-4o-mini", "fast-chat")
const key = keyOf("openai", secret)
const setup = adapterOver(FakeOpenAi.make, OpenAi.make, (fake) => fake.baseUrl)

describe("a provider's text that does not decode", () => {
  it.scoped("stream: an error event whose message is an object quoting the key leaves no trace of the key", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup({}, { apiKeys: [secret] })
      yield* fake.script(Fault.inject(1, `data: ${JSON.stringify({ error: { message: { detail: `invalid key ${secret} for this deployment` } } })}\n\n`))
      const error = yield* Effect.flip(Effect.flatMap(provider.stream(ctxOf(model, key)), (r) => collect(r.chunks)))
      assert.strictEqual(error._tag, "MalformedResponse")
      assert.include(error.detail, "invalid key", "the provider's words are kept")
      assert.notInclude(error.message, secret)
    })))

  it.scoped("chat: a 200 body with the key in a field of the wrong type leaves no trace of the key", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup({}, { apiKeys: [secret] })
      const body = { id: "chatcmpl-1", created: 1, model: { deployment: "gpt-4o-mini", key: secret }, choices: [] }
      yield* fake.script(Fault.malformedJson(JSON.stringify(body)))
      const error = yield* Effect.flip(provider.chat(ctxOf(model, key)))
      assert.strictEqual(error._tag, "MalformedResponse")
      assert.include(error.detail, "at model", "the decoder's complaint is kept")
      assert.notInclude(error.message, secret)
    })))
})
