/**
 * A request's `reasoning_effort` reaches each provider as the model's own
 * value for it (the registry's `reasoningEfforts`): OpenAI's
 * `reasoning_effort`, Anthropic's `output_config.effort`, Gemini's
 * `thinkingConfig` (a level or a budget), Ollama's `think`. Each fake checks
 * the field as its provider does, so a wrong shape would be a 400 here.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ChatRequest } from "@modelgate/domain/Chat"
import { ModelMetadata } from "@modelgate/domain/Model"
import type { ReasoningEfforts } from "@modelgate/domain/ModelParameters"
import * as FakeAnthropic from "@modelgate/testkit/FakeAnthropic"
import * as FakeGoogle from "@modelgate/testkit/FakeGoogle"
import * as FakeOllama from "@modelgate/testkit/FakeOllama"
import * as FakeOpenAi from "@modelgate/testkit/FakeOpenAi"
import { Effect } from "effect"
import * as Anthropic from "../src/Anthropic.js"
import * as Google from "../src/Google.js"
import * as Ollama from "../src/Ollama.js"
import * as OpenAi from "../src/OpenAi.js"
import { adapterOver, ctxOf, keyOf, lastJson, live, modelOf, tagOf } from "./internal/fixtures.js"

const reasoningModel = (provider: string, providerModel: string, reasoningEfforts?: ReasoningEfforts) => {
  const model = modelOf(provider, providerModel)
  return ModelMetadata.make({
    ...model,
    capabilities: [...model.capabilities, "reasoning"],
    ...(reasoningEfforts !== undefined ? { reasoningEfforts } : {})
  })
}
const effort = (reasoning_effort: string, extra: Partial<ChatRequest> = {}): Partial<ChatRequest> => ({ reasoning_effort, ...extra })

describe("reasoning_effort on the wire", () => {
  it.scoped("OpenAI: the mapped effort, or the effort as asked on a reasoning model without a mapping", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* adapterOver(FakeOpenAi.make, OpenAi.make, (f) => f.baseUrl)()
      const key = keyOf("openai", "sk-test-openai")
      yield* provider.chat(ctxOf(reasoningModel("openai", "o4-mini", { quick: "low", high: "high" }), key, effort("quick")))
      assert.strictEqual((yield* lastJson(fake))["reasoning_effort"], "low")
      yield* provider.chat(ctxOf(reasoningModel("openai", "o4-mini"), key, effort("medium")))
      assert.strictEqual((yield* lastJson(fake))["reasoning_effort"], "medium")
      // null is no effort: not sent
      yield* provider.chat(ctxOf(reasoningModel("openai", "o4-mini"), key, { reasoning_effort: null }))
      assert.notProperty(yield* lastJson(fake), "reasoning_effort")
      // What the gateway's check keeps away: OpenAI refuses an effort on a model that does not reason.
      assert.strictEqual(yield* tagOf(provider.chat(ctxOf(modelOf("openai", "gpt-4o-mini"), key, effort("low")))), "BadRequest")
    })))

  it.scoped("Anthropic: output_config.effort, beside a JSON schema", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* adapterOver(FakeAnthropic.make, Anthropic.make)()
      const model = reasoningModel("anthropic", "claude-opus-4-5", { low: "low", medium: "medium", high: "high" })
      const key = keyOf("anthropic", FakeAnthropic.defaultApiKey)
      yield* provider.chat(ctxOf(model, key, effort("medium")))
      assert.deepStrictEqual((yield* lastJson(fake))["output_config"], { effort: "medium" })
      const schema = { type: "object", properties: { a: { type: "string" } }, additionalProperties: false }
      yield* provider.chat(ctxOf(model, key, effort("low", { response_format: { type: "json_schema", json_schema: { name: "x", schema } } })))
      assert.deepStrictEqual((yield* lastJson(fake))["output_config"], { format: { type: "json_schema", schema }, effort: "low" })
      yield* provider.chat(ctxOf(model, key))
      assert.notProperty(yield* lastJson(fake), "output_config")
    })))

  it.scoped("Gemini: a thinkingBudget for a number, a thinkingLevel for a name", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* adapterOver(FakeGoogle.make, Google.make)()
      const key = keyOf("google", FakeGoogle.defaultApiKey)
      yield* provider.chat(ctxOf(reasoningModel("google", "gemini-2.5-flash", { none: 0, low: 1024, high: 24576 }), key, effort("low", { temperature: 0.2 })))
      assert.deepStrictEqual((yield* lastJson(fake))["generationConfig"], { temperature: 0.2, thinkingConfig: { thinkingBudget: 1024 } })
      yield* provider.chat(ctxOf(reasoningModel("google", "gemini-2.5-flash", { none: 0 }), key, effort("none")))
      assert.deepStrictEqual((yield* lastJson(fake))["generationConfig"], { thinkingConfig: { thinkingBudget: 0 } })
      yield* provider.chat(ctxOf(reasoningModel("google", "gemini-3-pro", { low: "low", high: "high" }), key, effort("high")))
      assert.deepStrictEqual((yield* lastJson(fake))["generationConfig"], { thinkingConfig: { thinkingLevel: "high" } })
    })))

  it.scoped("Ollama: think as a level or on/off", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* adapterOver(FakeOllama.make, Ollama.make)({}, { models: ["qwen3:8b", "gpt-oss:20b", "llama3.2:latest"] })
      yield* provider.chat(ctxOf(reasoningModel("ollama", "qwen3:8b", { none: false, high: true }), undefined, effort("none")))
      assert.strictEqual((yield* lastJson(fake))["think"], false)
      yield* provider.chat(ctxOf(reasoningModel("ollama", "gpt-oss:20b", { low: "low" }), undefined, effort("low")))
      assert.strictEqual((yield* lastJson(fake))["think"], "low")
      yield* provider.chat(ctxOf(reasoningModel("ollama", "qwen3:8b", { high: true }), undefined))
      assert.notProperty(yield* lastJson(fake), "think")
      // What the registry must not map: a model that cannot think refuses `think`.
      assert.strictEqual(yield* tagOf(provider.chat(ctxOf(reasoningModel("ollama", "llama3.2", { high: true }), undefined, effort("high")))), "BadRequest")
    })))
})
