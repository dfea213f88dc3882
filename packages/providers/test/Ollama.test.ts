import { ChatChunk, ChatResponse } from "@modelgate/domain/Chat"
import { ModelMetadata } from "@modelgate/domain/Model"
import { isUnreachable, type ProviderError } from "@modelgate/domain/ProviderError"
import { awaitSleep, Fault } from "@modelgate/testkit/FakeServer"
import * as FakeOllama from "@modelgate/testkit/FakeOllama"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Schema, TestClock } from "effect"
import * as fc from "fast-check"
import * as Ollama from "../src/Ollama.js"
import { classifyStatus } from "../src/internal/errors.js"
import { mayRetry } from "../src/internal/retry.js"
import { classify } from "../src/Ollama/errors.js"
import { normaliseResponse } from "../src/Ollama/normalise.js"
import type { WireChatLine } from "../src/Ollama/wire.js"
import { adapterOver, assertFaultTags, collect, ctxOf, errorContextOf, lastJson, live, modelOf, tagAfterTimeout, tagOf } from "./internal/fixtures.js"

const model = modelOf("ollama", "llama3.2", "local-chat")

const setup = adapterOver(FakeOllama.make, Ollama.make)

describe("Ollama", () => {
  it.scoped("chat: stream false, options mapped, usage from eval counts, no key needed", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup()
      assert.isFalse(provider.requiresKey)
      const result = yield* provider.chat(ctxOf(model, undefined, {
        messages: [{ role: "developer", content: "be brief" }, { role: "user", content: [{ type: "text", text: "hello there" }] }],
        temperature: 0.3,
        top_p: 0.9,
        max_tokens: 50,
        stop: "END",
        seed: 7
      }))
      const [sent] = yield* fake.requests
      assert.strictEqual(sent?.path, "/api/chat")
      assert.isUndefined(sent?.headers["authorization"])
      assert.deepStrictEqual(sent?.json, {
        model: "llama3.2",
        messages: [{ role: "system", content: "be brief" }, { role: "user", content: "hello there" }],
        stream: false,
        truncate: false,
        options: { num_ctx: 128_000, temperature: 0.3, top_p: 0.9, num_predict: 50, stop: ["END"], seed: 7 }
      })
      assert.isTrue(Schema.is(ChatResponse)(result.response))
      assert.strictEqual(result.response.choices[0].message.content, "fake ollama answer to: hello there")
      assert.strictEqual(result.response.choices[0].finish_reason, "stop")
      assert.strictEqual(result.response.model, "llama3.2:latest")
      assert.deepStrictEqual(result.response.usage, { prompt_tokens: 8, completion_tokens: 9, total_tokens: 17 })
      assert.isUndefined(result.rateLimit)
    })))

  it.scoped("num_predict reached is finish length; json_object is format json", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup()
      const short = yield* provider.chat(ctxOf(model, undefined, { max_completion_tokens: 2 }))
      assert.strictEqual(short.response.choices[0].finish_reason, "length")
      const json = yield* provider.chat(ctxOf(model, undefined, { response_format: { type: "json_object" } }))
      assert.strictEqual((yield* lastJson(fake)).format, "json")
      assert.deepStrictEqual(JSON.parse(json.response.choices[0].message.content ?? ""), { answer: "fake ollama answer to: hello there" })
    })))

  it.scoped("tools round trip: object arguments become JSON strings and back", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup()
      const tools = [{ type: "function" as const, function: { name: "get_weather", parameters: { type: "object" } } }]
      const first = yield* provider.chat(ctxOf(model, undefined, { tools, messages: [{ role: "user", content: "get_weather in Oslo" }] }))
      const call = first.response.choices[0].message.tool_calls?.[0]
      assert.strictEqual(first.response.choices[0].finish_reason, "tool_calls")
      assert.strictEqual(call?.function.name, "get_weather")
      assert.deepStrictEqual(JSON.parse(call?.function.arguments ?? ""), { input: "get_weather in Oslo" })
      assert.deepStrictEqual((yield* lastJson(fake)).tools, tools)
      const second = yield* provider.chat(ctxOf(model, undefined, {
        tools,
        messages: [
          { role: "user", content: "get_weather in Oslo" },
          { role: "assistant", content: null, tool_calls: [call!] },
          { role: "tool", tool_call_id: call!.id, content: "4C" }
        ]
      }))
      const sent = (yield* lastJson(fake)).messages as Array<Record<string, unknown>>
      assert.deepStrictEqual(sent[1]?.tool_calls, [{ id: call!.id, function: { name: "get_weather", arguments: { input: "get_weather in Oslo" } } }])
      assert.deepStrictEqual(sent[2], { role: "tool", content: "4C", tool_call_id: call!.id, tool_name: "get_weather" })
      assert.strictEqual(second.response.choices[0].message.content, "Tool result received: 4C")
      yield* provider.chat(ctxOf(model, undefined, { tools, tool_choice: "none" }))
      assert.isUndefined((yield* lastJson(fake)).tools)
    })))

  it.scoped("stream: NDJSON translates to chunks ending with finish and usage", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup()
      const chunks = yield* Effect.flatMap(provider.stream(ctxOf(model, undefined, { stream: true })), (r) => collect(r.chunks))
      assert.strictEqual((yield* lastJson(fake)).stream, true)
      assert.isTrue(chunks.every(Schema.is(ChatChunk)))
      assert.strictEqual(chunks[0]?.choices[0]?.delta.role, "assistant")
      assert.strictEqual(chunks.map((c) => c.choices[0]?.delta.content ?? "").join(""), "fake ollama answer to: hello there")
      assert.strictEqual(chunks[chunks.length - 2]?.choices[0]?.finish_reason, "stop")
      assert.deepStrictEqual(chunks[chunks.length - 1]?.usage, { prompt_tokens: 4, completion_tokens: 9, total_tokens: 13 })
      assert.isTrue(chunks.every((c) => c.id === chunks[0]?.id))
      const tools = [{ type: "function" as const, function: { name: "lookup" } }]
      const toolChunks = yield* Effect.flatMap(
        provider.stream(ctxOf(model, undefined, { tools, messages: [{ role: "user", content: "lookup x" }] })),
        (r) => collect(r.chunks)
      )
      const calls = toolChunks.flatMap((c) => c.choices.flatMap((ch) => ch.delta.tool_calls ?? []))
      assert.strictEqual(calls.length, 1)
      assert.deepStrictEqual(JSON.parse(calls[0]?.function?.arguments ?? ""), { input: "lookup x" })
      assert.isTrue(toolChunks.some((c) => c.choices[0]?.finish_reason === "tool_calls"))
    })))

  it.scoped("stream: no done line is StreamInterrupted; an error line is the matching error", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup()
      const run = Effect.flatMap(provider.stream(ctxOf(model, undefined)), (r) => collect(r.chunks))
      yield* fake.script(Fault.cut())
      assert.strictEqual(yield* tagOf(run), "StreamInterrupted")
      yield* fake.script(Fault.reset(2))
      assert.strictEqual(yield* tagOf(run), "StreamInterrupted")
      yield* fake.script(FakeOllama.faults.midStreamError(2))
      assert.strictEqual(yield* tagOf(run), "ServerError")
      yield* fake.script(Fault.cut(2), Fault.malformedJson("{\"model\":\"llama3.2\",\"done\":"))
      assert.strictEqual(yield* tagOf(run), "StreamInterrupted")
    })))

  it.scoped("classifies errors", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup({ timeoutMs: 2_000 })
      const chat = provider.chat(ctxOf(model, undefined))
      // Not pulled: the server's setup, not the request (fails over, takes the model out; not retried).
      const notFound = yield* Effect.flip(provider.chat(ctxOf(modelOf("ollama", "mistral"), undefined)))
      assert.isTrue(isUnreachable(notFound))
      assert.include(notFound.detail, "model 'mistral' not found")
      assert.strictEqual(
        yield* tagOf(provider.chat(ctxOf(model, undefined, { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://x/y.png" } }] }] }))),
        "BadRequest"
      )
      const cases: ReadonlyArray<readonly [Fault, string]> = [
        [FakeOllama.faults.busy, "Overloaded"],
        [Fault.status(429), "RateLimited"],
        [Fault.status(500, { body: { error: "llama runner process has terminated" } }), "ServerError"],
        [Fault.status(502), "ServerError"],
        [Fault.status(400, { body: { error: "\"llama3.2\" does not support tools" } }), "BadRequest"],
        [Fault.malformedJson(), "MalformedResponse"],
        [Fault.html(), "ServerError"],
        [Fault.status(200, { body: { model: "llama3.2", message: { content: "x" }, done: true, done_reason: "load" } }), "MalformedResponse"],
        [Fault.reset(), "Transport"]
      ]
      yield* assertFaultTags(fake, () => chat, cases)
      yield* fake.script(Fault.delay({ headersMs: 10_000 }))
      assert.strictEqual(yield* tagAfterTimeout(chat, 2_000), "Timeout")
    })))

  it.scoped("the model is loaded with the registry's context window (num_ctx): a prompt over Ollama's default 4096 that fits it is answered", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup()
      // ~6000 tokens: over Ollama's default context, well within the model's 128000.
      const long = "many words of a long conversation ".repeat(700)
      const answered = yield* provider.chat(ctxOf(model, undefined, { messages: [{ role: "user", content: long }] }))
      assert.strictEqual(answered.response.choices[0].finish_reason, "stop")
      assert.strictEqual(((yield* lastJson(fake)).options as Record<string, unknown>).num_ctx, model.contextWindow)
      const chunks = yield* Effect.flatMap(provider.stream(ctxOf(model, undefined, { messages: [{ role: "user", content: long }] })), (r) => collect(r.chunks))
      assert.strictEqual(chunks[chunks.length - 2]?.choices[0]?.finish_reason, "stop")
    })))

  it.scoped("a prompt over the context window is ContextLengthExceeded (truncate: false), never cut silently from the front", () =>
    live(Effect.gen(function*() {
      const { provider } = yield* setup()
      const small = ModelMetadata.make({ ...model, contextWindow: 64 })
      const long = "many words of a long conversation ".repeat(60)
      const over = yield* Effect.flip(provider.chat(ctxOf(small, undefined, { messages: [{ role: "user", content: long }] })))
      assert.strictEqual(over._tag, "ContextLengthExceeded")
      assert.include(over.detail, "exceeds the available context size (64 tokens)")
      const streamed = yield* Effect.flip(provider.stream(ctxOf(small, undefined, { messages: [{ role: "user", content: long }] })))
      assert.strictEqual(streamed._tag, "ContextLengthExceeded")
      // what fits is answered
      const fits = yield* provider.chat(ctxOf(small, undefined, { messages: [{ role: "user", content: "short" }] }))
      assert.strictEqual(fits.response.choices[0].finish_reason, "stop")
    })))

  it.scoped("retries a busy server with backoff, then succeeds (TestClock)", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup({ maxRetries: 2 })
      yield* fake.script(FakeOllama.faults.busy)
      const fiber = yield* Effect.fork(provider.chat(ctxOf(model, undefined)))
      const wait = yield* awaitSleep((ms) => ms <= 10_000)
      assert.isAtMost(wait, 500)
      yield* TestClock.adjust(wait)
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.response.choices[0].finish_reason, "stop")
      assert.lengthOf(yield* fake.requests, 2)
    })))

  // A model the server cannot load (too large for its free memory; a format its version does not know, where each
  // retry loaded it again, for seconds, before failing again) is the server's setup for that model.
  it.scoped("a 500 saying the model needs more memory than the server has, or may be incompatible with its version, is not retried on that server: it fails over at once, and the server's other models still answer", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup({ maxRetries: 2 })
      const faults = [
        [FakeOllama.faults.outOfMemory, "requires more system memory (39.4 GiB) than is available (30.0 GiB)"],
        [FakeOllama.faults.incompatibleModel, "incompatible with your version of Ollama"]
      ] as const
      for (const [fault, said] of faults) {
        yield* fake.persist(fault)
        const calls: ReadonlyArray<Effect.Effect<unknown, ProviderError>> = [provider.chat(ctxOf(model, undefined)), provider.stream(ctxOf(model, undefined))]
        for (const call of calls) {
          const before = (yield* fake.requests).length
          const fiber = yield* Effect.fork(Effect.flip(call))
          // A retry would wait on its backoff (a TestClock sleep): the error must come first.
          const outcome = yield* Effect.raceFirst(Fiber.join(fiber), Effect.as(awaitSleep((ms) => ms <= 10_000), "a retry's backoff" as const))
          assert.notStrictEqual(outcome, "a retry's backoff", said)
          const error = outcome as ProviderError
          assert.isTrue(isUnreachable(error), error._tag)
          assert.isFalse(mayRetry(error, 10_000))
          assert.include(error.detail, said)
          assert.lengthOf(yield* fake.requests, before + 1)
        }
        // Only that model: the same server goes on answering another (smaller) one.
        yield* fake.persist(undefined)
        const small = yield* provider.chat(ctxOf(modelOf("ollama", "qwen2.5:7b", "local-small"), undefined))
        assert.strictEqual(small.response.choices[0].finish_reason, "stop")
      }
    })))

  it.scoped("probe lists installed models", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup()
      assert.isTrue((yield* provider.probe(model, undefined)).ok)
      assert.strictEqual((yield* fake.requests)[0]?.path, "/api/tags")
      const missing = yield* provider.probe(modelOf("ollama", "mistral"), undefined)
      assert.isTrue(missing.error !== undefined && isUnreachable(missing.error))
      assert.include(missing.error?.detail, "ollama pull mistral")
      yield* fake.script(Fault.reset())
      assert.strictEqual((yield* provider.probe(model, undefined)).error?._tag, "Transport")
    })))
})

const count = fc.nat({ max: 1_000_000 })
const wireLine: fc.Arbitrary<WireChatLine> = fc.record({
  model: fc.option(fc.string(), { nil: undefined }),
  created_at: fc.option(fc.date({ min: new Date(0), noInvalidDate: true }).map((d) => d.toISOString()), { nil: undefined }),
  message: fc.record({
    role: fc.constant("assistant"),
    content: fc.string(),
    tool_calls: fc.option(
      fc.array(fc.record({ function: fc.record({ name: fc.string(), arguments: fc.dictionary(fc.string(), fc.jsonValue()) }) })),
      { nil: undefined }
    )
  }),
  done: fc.constant(true),
  done_reason: fc.constantFrom("stop", "length"),
  prompt_eval_count: fc.option(count, { nil: undefined }),
  eval_count: fc.option(count, { nil: undefined })
}) as fc.Arbitrary<WireChatLine>

describe("Ollama properties", () => {
  it("any done answer normalises to a valid ChatResponse", () => {
    fc.assert(
      fc.property(wireLine, (line) => {
        const out = normaliseResponse(line, { model: "m", messages: [{ role: "user", content: "hi" }] }, { id: "x", created: 1, model: "m" })
        assert.strictEqual(out._tag, "Ok")
        if (out._tag === "Ok") {
          assert.isTrue(Schema.is(ChatResponse)(out.value))
          assert.strictEqual(out.value.usage.estimated === true, line.prompt_eval_count === undefined || line.eval_count === undefined)
          assert.strictEqual((out.value.choices[0].message.tool_calls?.length ?? 0) > 0, out.value.choices[0].finish_reason === "tool_calls")
        }
      }),
      { numRuns: 200 }
    )
  })

  it("classification is total: every non-2xx status is exactly its status class (404: the model is not there)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 599 }).filter((s) => s < 200 || s >= 300), fc.string(), (status, message) => {
        const body = JSON.stringify({ error: message })
        const error = classify(errorContextOf("ollama", { model: "m", keyId: undefined, secrets: [] }, status, body, { excerpt: body }))
        assert.strictEqual(error._tag, status === 404 ? "Transport" : classifyStatus(status))
      }),
      { numRuns: 500 }
    )
  })
})
