/**
 * What each adapter cannot serve (`Provider.cannotServe`), each a field the
 * provider's API would otherwise drop: more than one choice (Anthropic,
 * Ollama; OpenAI has `n`, Gemini `candidateCount`), JSON mode without a schema
 * (Anthropic), a forced tool call (Ollama), no parallel tool calls (Gemini,
 * Ollama), a logit bias and OpenAI parameters modelgate does not model (all
 * but OpenAI), a service tier priced otherwise than the registry's, audio
 * output and legacy function calling (OpenAI), a reasoning effort the
 * model's registry entry does not map to a value its provider takes (all; an
 * OpenAI reasoning model without a mapping takes the effort as asked),
 * content a provider cannot take (images by URL, image types for Anthropic
 * and Gemini, an image over Anthropic's 5 MB, audio, files), history tool-call arguments that are not a JSON
 * object (all but OpenAI), a function name Gemini does not take (one
 * starting with a digit or `-`), and a JSON response format beside function
 * tools (Gemini before 3).
 */
import { ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import type { Provider } from "@modelgate/core/Provider"
import type { ChatMessage, ChatRequest, ContentPart } from "@modelgate/domain/Chat"
import { ModelMetadata } from "@modelgate/domain/Model"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Anthropic from "../src/Anthropic.js"
import * as Google from "../src/Google.js"
import * as Ollama from "../src/Ollama.js"
import * as OpenAi from "../src/OpenAi.js"
import { modelOf } from "@modelgate/testkit/TestModel"
import { live } from "./internal/fixtures.js"

const request = (extra: Partial<ChatRequest> = {}): ChatRequest => ({ model: "m", messages: [{ role: "user", content: "hi" }], ...extra })
const config = Effect.succeed(ProviderConfig.make({ baseUrl: "http://127.0.0.1:1" }))
const refusal = (provider: Provider, extra: Partial<ChatRequest>, model = modelOf(provider.id, "m")) => provider.cannotServe?.(request(extra), model)

describe("Provider.cannotServe", () => {
  it.scoped("n above 1: refused by Anthropic and Ollama naming the field, served by OpenAI and Gemini; n 1, null or absent by all", () =>
    live(Effect.gen(function*() {
      const adapters = {
        openai: yield* OpenAi.make(config),
        anthropic: yield* Anthropic.make(config),
        google: yield* Google.make(config),
        ollama: yield* Ollama.make(config)
      }
      for (const id of ["anthropic", "ollama"] as const) {
        assert.deepStrictEqual(refusal(adapters[id], { n: 3 }), { param: "n", reason: `${id} answers one choice per request (n=3 asked)` })
      }
      for (const id of ["openai", "google"] as const) assert.isUndefined(refusal(adapters[id], { n: 3 }), id)
      for (const adapter of Object.values(adapters)) {
        for (const n of [1, null, undefined]) {
          assert.isUndefined(refusal(adapter, n === undefined ? {} : { n }), `${adapter.id} n=${n}`)
        }
      }
    })))

  it.scoped("JSON mode without a schema is refused by Anthropic only; a forced tool call by Ollama only", () =>
    live(Effect.gen(function*() {
      const adapters = [yield* OpenAi.make(config), yield* Anthropic.make(config), yield* Google.make(config), yield* Ollama.make(config)]
      const refusedBy = (extra: Partial<ChatRequest>) =>
        adapters.flatMap((adapter) => {
          const why = refusal(adapter, extra)
          return why === undefined ? [] : [`${adapter.id}: ${why.param}`]
        })
      const schema = { type: "object", properties: { a: { type: "string" } } }
      // JSON mode: never on Anthropic; on OpenAI only when a message says "JSON" (else OpenAI answers a 400).
      const saysJson: Partial<ChatRequest> = { messages: [{ role: "user", content: "answer in JSON" }] }
      assert.deepStrictEqual(refusedBy({ ...saysJson, response_format: { type: "json_object" } }), ["anthropic: response_format"])
      assert.deepStrictEqual(refusedBy({ response_format: { type: "json_object" } }), ["openai: response_format", "anthropic: response_format"])
      assert.deepStrictEqual(
        refusedBy({ messages: [{ role: "system", content: [{ type: "text", text: "Reply with a json object." }] }, { role: "user", content: "hi" }], response_format: { type: "json_object" } }),
        ["anthropic: response_format"]
      )
      assert.deepStrictEqual(refusedBy({ response_format: { type: "json_schema", json_schema: { name: "x" } } }), ["anthropic: response_format"])
      assert.deepStrictEqual(refusedBy({ response_format: { type: "json_schema", json_schema: { name: "x", schema } } }), [])
      assert.deepStrictEqual(refusedBy({ response_format: { type: "text" } }), [])
      // A stop of whitespace only: Anthropic refuses it (leaving it out would let the answer run on).
      assert.deepStrictEqual(refusedBy({ stop: "\n" }), ["anthropic: stop"])
      assert.deepStrictEqual(refusedBy({ stop: ["END", " \t"] }), ["anthropic: stop"])
      assert.deepStrictEqual(refusedBy({ stop: ["\nEND"] }), [])
      // More cache breakpoints than Anthropic takes (4); the other providers are not sent them.
      const part = (i: number): ChatMessage => ({ role: "user", content: [{ type: "text", text: `part ${i}`, cache_control: { type: "ephemeral" } }] })
      const cached = (n: number): Partial<ChatRequest> => ({ messages: [part(0), ...Array.from({ length: n - 1 }, (_, i) => part(i + 1))] })
      assert.deepStrictEqual(refusedBy(cached(4)), [])
      assert.deepStrictEqual(refusedBy(cached(5)), ["anthropic: messages"])
      // More stop sequences than a provider takes: OpenAI 4, Gemini 5.
      assert.deepStrictEqual(refusedBy({ stop: ["a", "b", "c", "d"] }), [])
      assert.deepStrictEqual(refusedBy({ stop: ["a", "b", "c", "d", "e"] }), ["openai: stop"])
      assert.deepStrictEqual(refusedBy({ stop: ["a", "b", "c", "d", "e", "f"] }), ["openai: stop", "google: stop"])
      assert.include(refusal(adapters[0]!, { stop: ["a", "b", "c", "d", "e"] })?.reason ?? "", "openai takes at most 4 stop sequences (5 asked)")

      const tools = [{ type: "function" as const, function: { name: "get_weather" } }]
      assert.deepStrictEqual(refusedBy({ tools, tool_choice: "required" }), ["ollama: tool_choice"])
      assert.deepStrictEqual(refusedBy({ tools, tool_choice: { type: "function", function: { name: "get_weather" } } }), ["ollama: tool_choice"])
      assert.include(refusal(adapters[3]!, { tools, tool_choice: { type: "function", function: { name: "get_weather" } } })?.reason ?? "", "function get_weather")
      for (const tool_choice of ["auto", "none", undefined] as const) {
        assert.deepStrictEqual(refusedBy(tool_choice === undefined ? { tools } : { tools, tool_choice }), [], String(tool_choice))
      }
      assert.deepStrictEqual(refusedBy({ tool_choice: "required" }), [], "no tools: nothing to force")

      assert.deepStrictEqual(refusedBy({ tools, parallel_tool_calls: false }), ["google: parallel_tool_calls", "ollama: parallel_tool_calls"])
      assert.deepStrictEqual(refusedBy({ tools, parallel_tool_calls: true }), [])
      assert.deepStrictEqual(refusedBy({ parallel_tool_calls: false }), [], "no tools: no tool calls")
      assert.deepStrictEqual(refusedBy({ logit_bias: { "50256": -100 } }), ["anthropic: logit_bias", "google: logit_bias", "ollama: logit_bias"])
      assert.deepStrictEqual(refusedBy({ logit_bias: {} }), [])
      assert.deepStrictEqual(refusedBy({ logit_bias: null }), [])

      const extras = (fields: Record<string, unknown>) => refusedBy(fields as Partial<ChatRequest>)
      assert.deepStrictEqual(extras({ prediction: { type: "content", content: "x" } }), ["anthropic: prediction", "google: prediction", "ollama: prediction"])
      assert.include(refusal(adapters[1]!, { prediction: {}, verbosity: "low" } as Partial<ChatRequest>)?.reason ?? "", "'prediction', 'verbosity'")
      // Bookkeeping that changes no answer (agent SDKs send it always) keeps no provider away.
      assert.deepStrictEqual(extras({ store: false, safety_identifier: "u-1", prompt_cache_key: "k", prompt_cache_retention: "24h" }), [])
      assert.include(refusal(adapters[1]!, { prediction: {}, store: true } as Partial<ChatRequest>)?.reason ?? "", "takes no 'prediction' (")
      assert.deepStrictEqual(extras({ service_tier: "flex" }), ["openai: service_tier", "anthropic: service_tier", "google: service_tier", "ollama: service_tier"])
      assert.deepStrictEqual(extras({ service_tier: "auto" }), ["anthropic: service_tier", "google: service_tier", "ollama: service_tier"])
      assert.deepStrictEqual(extras({ service_tier: "default" }).includes("openai: service_tier"), false)
      // Audio output: no answer of modelgate carries it, OpenAI's included.
      assert.deepStrictEqual(extras({ modalities: ["text", "audio"] }), ["openai: modalities", "anthropic: modalities", "google: modalities", "ollama: modalities"])
      assert.deepStrictEqual(extras({ audio: { voice: "alloy", format: "wav" } })[0], "openai: audio")
      assert.deepStrictEqual(extras({ modalities: ["text"] }).includes("openai: modalities"), false)
      // Legacy function calling: OpenAI would answer with message.function_call, which answers do not carry.
      const functions = [{ name: "f", parameters: { type: "object" } }]
      assert.deepStrictEqual(extras({ functions })[0], "openai: functions")
      assert.deepStrictEqual(extras({ function_call: "auto" })[0], "openai: function_call")
    })))

  it.scoped("a reasoning effort: served where the model's registry entry maps it to a value its provider takes, refused otherwise naming the efforts it takes", () =>
    live(Effect.gen(function*() {
      const adapters = [yield* OpenAi.make(config), yield* Anthropic.make(config), yield* Google.make(config), yield* Ollama.make(config)]
      const withEfforts = (provider: string, reasoningEfforts?: Record<string, string | number | boolean>, reasoning = false) => {
        const model = modelOf(provider, "m")
        return ModelMetadata.make({
          ...model,
          capabilities: reasoning ? [...model.capabilities, "reasoning"] : model.capabilities,
          ...(reasoningEfforts !== undefined ? { reasoningEfforts } : {})
        })
      }
      const refusedBy = (effort: string | null | undefined, models: (provider: string) => ModelMetadata) =>
        adapters.flatMap((adapter) => {
          const why = refusal(adapter, effort === undefined ? {} : { reasoning_effort: effort }, models(adapter.id))
          return why === undefined ? [] : [`${adapter.id}: ${why.param}`]
        })

      // No mapping: only an OpenAI reasoning model takes the effort (as asked); no effort, or null, is never refused.
      assert.deepStrictEqual(refusedBy("low", (p) => withEfforts(p)), ["openai: reasoning_effort", "anthropic: reasoning_effort", "google: reasoning_effort", "ollama: reasoning_effort"])
      assert.deepStrictEqual(refusedBy("low", (p) => withEfforts(p, undefined, true)), ["anthropic: reasoning_effort", "google: reasoning_effort", "ollama: reasoning_effort"])
      assert.deepStrictEqual(refusedBy(undefined, (p) => withEfforts(p)), [])
      assert.deepStrictEqual(refusedBy(null, (p) => withEfforts(p)), [])
      assert.include(refusal(adapters[1]!, { reasoning_effort: "high" }, withEfforts("anthropic"))?.reason ?? "", "anthropic-test on anthropic takes no reasoning effort (its registry entry maps none in reasoningEfforts")

      // A mapping: each provider takes its own kind of value; an effort left out is refused, naming those it takes.
      const names = { low: "low", high: "high" }
      assert.deepStrictEqual(refusedBy("high", (p) => withEfforts(p, names)), [])
      assert.deepStrictEqual(refusedBy("medium", (p) => withEfforts(p, names)), ["openai: reasoning_effort", "anthropic: reasoning_effort", "google: reasoning_effort", "ollama: reasoning_effort"])
      assert.include(refusal(adapters[0]!, { reasoning_effort: "medium" }, withEfforts("openai", names, true))?.reason ?? "", "openai-test takes reasoning_effort \"low\", \"high\" (\"medium\" asked)")
      // A budget in tokens: Gemini's thinkingBudget only; on and off: Ollama's think only.
      assert.deepStrictEqual(refusedBy("low", (p) => withEfforts(p, { low: 1024 })), ["openai: reasoning_effort", "anthropic: reasoning_effort", "ollama: reasoning_effort"])
      assert.deepStrictEqual(refusedBy("low", (p) => withEfforts(p, { low: true })), ["openai: reasoning_effort", "anthropic: reasoning_effort", "google: reasoning_effort"])
      assert.deepStrictEqual(refusedBy("low", (p) => withEfforts(p, { low: -2 })).includes("google: reasoning_effort"), true)
      assert.include(refusal(adapters[1]!, { reasoning_effort: "low" }, withEfforts("anthropic", { low: 1024 }))?.reason ?? "", "maps \"low\" to 1024, which is not an output_config.effort name")
      // An effort named like an object's own members is no mapping.
      assert.deepStrictEqual(refusedBy("constructor", (p) => withEfforts(p, names)).length, 4)
    })))

  it.scoped("content a provider cannot take: an image by URL (Gemini, Ollama), an image type Anthropic does not take, audio (Anthropic, Ollama), a file by id (Anthropic, Gemini) or any file (Ollama)", () =>
    live(Effect.gen(function*() {
      const adapters = [yield* OpenAi.make(config), yield* Anthropic.make(config), yield* Google.make(config), yield* Ollama.make(config)]
      const refusedBy = (...content: ReadonlyArray<ContentPart>) =>
        adapters.flatMap((adapter) => {
          const why = adapter.cannotServe?.({ model: "m", messages: [{ role: "user", content: [{ type: "text", text: "look" }, ...content] }] }, modelOf(adapter.id, "m"))
          return why === undefined ? [] : [`${adapter.id}: ${why.param}`]
        })
      const inline = "data:image/png;base64,iVBORw0KGgo="
      assert.deepStrictEqual(refusedBy({ type: "image_url", image_url: { url: inline } }), [])
      assert.deepStrictEqual(refusedBy({ type: "image_url", image_url: { url: "https://example.com/cat.png" } }), ["google: messages", "ollama: messages"])
      assert.deepStrictEqual(refusedBy({ type: "input_audio", input_audio: { data: "UklGRg==", format: "wav" } }), ["anthropic: messages", "ollama: messages"])
      assert.deepStrictEqual(refusedBy({ type: "file", file: { file_data: "data:application/pdf;base64,JVBERi0=", filename: "a.pdf" } }), ["ollama: messages"])
      assert.deepStrictEqual(refusedBy({ type: "file", file: { file_id: "file-abc123" } }), ["anthropic: messages", "google: messages", "ollama: messages"])
      assert.deepStrictEqual(refusedBy(), [])
      // Anthropic takes jpeg, png, gif and webp inline; an SVG or a TIFF (percent-encoded or base64) goes elsewhere (not to Gemini either).
      assert.deepStrictEqual(refusedBy({ type: "image_url", image_url: { url: "data:image/svg+xml;utf8,%3Csvg%2F%3E" } }), ["anthropic: messages", "google: messages"])
      assert.deepStrictEqual(refusedBy({ type: "image_url", image_url: { url: "data:IMAGE/JPG;base64,/9j/" } }), [])
      assert.strictEqual(
        adapters[1]!.cannotServe?.({ model: "m", messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:image/tiff;base64,SUkq" } }] }] }, modelOf("anthropic", "m"))?.reason,
        "anthropic takes images as image/jpeg, image/png, image/gif, image/webp; the request has one of image/tiff"
      )
      const why = adapters[2]!.cannotServe?.(
        { model: "m", messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://example.com/cat.png" } }] }] },
        modelOf("google", "m")
      )
      assert.strictEqual(why?.reason, "google takes images only inline (data: URLs); the request has an image by URL")
    })))

  it.scoped("an inline image type Gemini does not take (png, jpeg, webp, heic, heif only): a GIF or an SVG keeps the request from Gemini, naming messages", () =>
    live(Effect.gen(function*() {
      const adapters = [yield* OpenAi.make(config), yield* Anthropic.make(config), yield* Google.make(config), yield* Ollama.make(config)]
      const refusedBy = (url: string) =>
        adapters.flatMap((adapter) => {
          const why = adapter.cannotServe?.({ model: "m", messages: [{ role: "user", content: [{ type: "text", text: "look" }, { type: "image_url", image_url: { url } }] }] }, modelOf(adapter.id, "m"))
          return why === undefined ? [] : [`${adapter.id}: ${why.param}`]
        })
      assert.deepStrictEqual(refusedBy("data:image/gif;base64,R0lGODlh"), ["google: messages"])
      assert.deepStrictEqual(refusedBy("data:image/svg+xml;utf8,%3Csvg%2F%3E"), ["anthropic: messages", "google: messages"])
      // HEIC and HEIF go to Gemini, not to Anthropic; jpeg (image/jpg too), png and webp to both.
      assert.deepStrictEqual(refusedBy("data:image/heic;base64,AAAAGGZ0eXA="), ["anthropic: messages"])
      assert.deepStrictEqual(refusedBy("data:image/heif;base64,AAAAGGZ0eXA="), ["anthropic: messages"])
      for (const url of ["data:image/jpg;base64,/9j/", "data:IMAGE/JPEG;base64,/9j/", "data:image/png;base64,iVBORw0KGgo=", "data:image/webp;base64,UklGRg=="]) {
        assert.deepStrictEqual(refusedBy(url), [], url)
      }
      const why = adapters[2]!.cannotServe?.(
        { model: "m", messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:image/gif;base64,R0lGODlh" } }] }] },
        modelOf("google", "m")
      )
      assert.strictEqual(why?.reason, "google takes images as image/png, image/jpeg, image/webp, image/heic, image/heif; the request has one of image/gif")
    })))
})

describe("Provider.cannotServe: tool-call arguments that are not a JSON object", () => {
  // OpenAI takes any string as a history call's `arguments` (a model may have written invalid JSON, cut at
  // max_tokens); Anthropic (`tool_use.input`), Gemini (`functionCall.args`) and Ollama (`arguments`) take a
  // JSON object only (PROVIDERS.md). Refused in the ranking, the request goes to a provider that takes it.
  const history = (args: string): Partial<ChatRequest> => ({
    messages: [
      { role: "user", content: "weather?" },
      { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: args } }] },
      { role: "tool", tool_call_id: "call_1", content: "error: arguments are not valid JSON" },
      { role: "user", content: "try again" }
    ]
  })

  it.scoped("refused by Anthropic, Gemini and Ollama naming the call, served by OpenAI; empty arguments and an object are served by all", () =>
    live(Effect.gen(function*() {
      const adapters = [yield* OpenAi.make(config), yield* Anthropic.make(config), yield* Google.make(config), yield* Ollama.make(config)]
      for (const args of ["{\"city\": \"Par", "[1,2]", "\"Paris\""]) {
        const refused = adapters.flatMap((adapter) => {
          const why = refusal(adapter, history(args))
          return why === undefined ? [] : [`${adapter.id}: ${why.param}: ${why.reason}`]
        })
        assert.deepStrictEqual(refused, ["anthropic", "google", "ollama"].map((id) =>
          `${id}: messages: ${id} takes tool-call arguments only as a JSON object (those of tool call call_1 are not one)`), args)
      }
      for (const args of ["", "  ", "{}", "{\"city\":\"Paris\"}"]) {
        for (const adapter of adapters) assert.isUndefined(refusal(adapter, history(args)), `${adapter.id} ${args}`)
      }
    })))

  it.scoped("Ollama called directly with such a history fails with a BadRequest rather than sending {} in its place", () =>
    live(Effect.gen(function*() {
      const ollama = yield* Ollama.make(config)
      const model = modelOf("ollama", "m")
      const error = yield* Effect.flip(ollama.chat({ model, key: undefined, request: request(history("{\"city\": \"Par")) }))
      assert.strictEqual(error._tag, "BadRequest")
      assert.include(error.message + JSON.stringify(error), "tool call call_1")
    })))
})

describe("Provider.cannotServe: function names Gemini does not take", () => {
  // OpenAI takes function names of letters, digits, `_` and `-` (1 to 64); Gemini's must start with a letter
  // or `_` (then letters, digits, `_.:-`, at most 128: PROVIDERS.md, Gemini tools), else a 400 INVALID_ARGUMENT.
  const tool = (name: string) => ({ type: "function" as const, function: { name } })

  it.scoped("a tool named from a digit or `-` is refused by Gemini naming tools, served by the others; ordinary names by all", () =>
    live(Effect.gen(function*() {
      const adapters = [yield* OpenAi.make(config), yield* Anthropic.make(config), yield* Google.make(config), yield* Ollama.make(config)]
      for (const name of ["2fa_verify", "-lookup"]) {
        const refused = adapters.flatMap((adapter) => {
          const why = refusal(adapter, { tools: [tool("search"), tool(name)] })
          return why === undefined ? [] : [`${adapter.id}: ${why.param}: ${why.reason}`]
        })
        assert.deepStrictEqual(refused, [`google: tools: google takes function names that start with a letter or _ (${name} asked)`])
      }
      for (const name of ["search", "_private", "get-weather_v2"]) {
        for (const adapter of adapters) assert.isUndefined(refusal(adapter, { tools: [tool(name)] }), `${adapter.id} ${name}`)
      }
    })))
})

describe("Provider.cannotServe: a JSON response format beside function tools", () => {
  // Gemini before 3 answers a request with function declarations and responseMimeType application/json with a 400
  // ("Function calling with a response mime type: 'application/json' is unsupported"), which ends the request (no
  // failover on a 400); agent SDKs send both when an agent has tools and a structured output. Gemini 3 takes both.
  const tools = [{ type: "function" as const, function: { name: "get_weather" } }]
  const schema = { type: "object", properties: { city: { type: "string" } } }
  const formats = [{ type: "json_object" as const }, { type: "json_schema" as const, json_schema: { name: "out", schema, strict: true } }]

  it.scoped("refused by Gemini 2.x naming response_format; served by Gemini 3, by the others, and without tools or JSON", () =>
    live(Effect.gen(function*() {
      const google = yield* Google.make(config)
      const others = [yield* OpenAi.make(config), yield* Ollama.make(config)]
      const ask = (extra: Partial<ChatRequest>): ChatRequest => request({ ...extra, messages: [{ role: "user", content: "weather in Paris, as JSON" }] })
      for (const response_format of formats) {
        for (const providerModel of ["gemini-2.5-flash", "models/gemini-2.5-pro"]) {
          const why = google.cannotServe?.(ask({ tools, response_format }), modelOf("google", providerModel))
          assert.strictEqual(why?.param, "response_format", providerModel)
          assert.include(why?.reason ?? "", "function tools", providerModel)
        }
        for (const providerModel of ["gemini-3-pro-preview", "models/gemini-3.5-flash"]) {
          assert.isUndefined(google.cannotServe?.(ask({ tools, response_format }), modelOf("google", providerModel)), providerModel)
        }
        assert.isUndefined(google.cannotServe?.(ask({ response_format }), modelOf("google", "gemini-2.5-flash")), "no tools")
        assert.isUndefined(google.cannotServe?.(ask({ tools: [], response_format }), modelOf("google", "gemini-2.5-flash")), "an empty tool list")
        for (const adapter of others) assert.isUndefined(adapter.cannotServe?.(ask({ tools, response_format }), modelOf(adapter.id, "m")), adapter.id)
      }
      assert.isUndefined(google.cannotServe?.(ask({ tools, response_format: { type: "text" } }), modelOf("google", "gemini-2.5-flash")), "text")
    })))
})

describe("Provider.cannotServe: an inline image over Anthropic's 5 MB", () => {
  // Anthropic answers a base64 image over 5 MB (5,242,880 bytes of base64) with a 400 ("messages.0.content.1.image.source.base64:
  // image exceeds 5 MB maximum: 6275800 bytes > 5242880 bytes"), which ends the request (no failover on a 400), where
  // OpenAI (20 MB an image) and Gemini serve it: a phone photo of 4 MB is over it once in base64, and under the gateway's
  // 10 MB body limit. `auto` must rank without Claude; a named Claude model is refused naming the image.
  const limit = 5 * 1024 * 1024
  const image = (base64Length: number): ContentPart => ({
    type: "image_url",
    image_url: { url: `data:image/jpeg;base64,${"A".repeat(base64Length)}` }
  })
  const ask = (...content: ReadonlyArray<ContentPart>): ChatRequest =>
    request({ messages: [{ role: "user", content: "a photo" }, { role: "user", content: [{ type: "text", text: "what is this?" }, ...content] }] })

  it.scoped("refused by Anthropic naming the image's field; served at 5 MB exactly, and by OpenAI and Gemini", () =>
    live(Effect.gen(function*() {
      const anthropic = yield* Anthropic.make(config)
      const why = anthropic.cannotServe?.(ask(image(1_000), image(limit + 4)), modelOf("anthropic", "m"))
      assert.strictEqual(why?.param, "messages[1].content[2].image_url.url")
      assert.include(why?.reason ?? "", "5 MB")
      assert.isUndefined(anthropic.cannotServe?.(ask(image(limit)), modelOf("anthropic", "m")), "5 MB exactly")
      assert.isUndefined(anthropic.cannotServe?.(ask({ type: "image_url", image_url: { url: `https://example.com/${"a".repeat(limit)}.jpg` } }), modelOf("anthropic", "m")), "by URL")
      for (const adapter of [yield* OpenAi.make(config), yield* Google.make(config)]) {
        assert.isUndefined(adapter.cannotServe?.(ask(image(limit + 4)), modelOf(adapter.id, "m")), adapter.id)
      }
    })))
})
