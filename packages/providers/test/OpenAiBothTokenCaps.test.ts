/**
 * A request with both `max_tokens` and `max_completion_tokens` (LangChain
 * and agent frameworks send both; Anthropic, Gemini and Ollama take the
 * cap as `max_completion_tokens ?? max_tokens`): OpenAI refuses the pair on
 * every model with a 400 ("Setting 'max_tokens' and
 * 'max_completion_tokens' at the same time is not supported."), so only
 * `max_completion_tokens` goes, as it does to a reasoning model.
 */
import * as FakeOpenAi from "@modelgate/testkit/FakeOpenAi"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as OpenAi from "../src/OpenAi.js"
import { adapterOver, ctxOf, keyOf, lastJson, live, modelOf } from "./internal/fixtures.js"

const setup = adapterOver(FakeOpenAi.make, OpenAi.make, (fake) => fake.baseUrl)
const key = keyOf("openai", "sk-test-openai")

describe("OpenAI: max_tokens beside max_completion_tokens", () => {
  it.scoped("a model that is not a reasoning one is sent max_completion_tokens only, and answers", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup()
      const answer = yield* provider.chat(ctxOf(modelOf("openai", "gpt-4o-mini"), key, { max_tokens: 100, max_completion_tokens: 60 }))
      assert.strictEqual(answer.response.choices[0].finish_reason, "stop")
      const sent = yield* lastJson(fake)
      assert.strictEqual(sent["max_completion_tokens"], 60)
      assert.notProperty(sent, "max_tokens")
      // One of them alone, or the other null, goes as it is.
      yield* provider.chat(ctxOf(modelOf("openai", "gpt-4o-mini"), key, { max_tokens: 100, max_completion_tokens: null }))
      assert.strictEqual((yield* lastJson(fake))["max_tokens"], 100)
      yield* provider.chat(ctxOf(modelOf("openai", "gpt-4o-mini"), key, { max_tokens: 100 }))
      assert.strictEqual((yield* lastJson(fake))["max_tokens"], 100)
    })))
})
