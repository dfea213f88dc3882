/**
 * The official `openai` client against the gateway over a real socket, with a
 * Gateway double: answers, streams, tool calls, models, and typed errors.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { BudgetExceeded, MissingApiKey, NoEligibleModel, RateLimitExceeded } from "@modelgate/domain/Errors"
import { ServerError, StreamInterrupted } from "@modelgate/domain/ProviderError"
import { Effect, Stream } from "effect"
import OpenAI from "openai"
import { baseUrl, chunk, echoGateway, meta, response, serverLayer } from "./support/Doubles.js"

const client = Effect.map(baseUrl, (url) => new OpenAI({ baseURL: `${url}/v1`, apiKey: "unused", maxRetries: 0 }))

const call = <A>(f: (c: OpenAI) => Promise<A>) => Effect.flatMap(client, (c) => Effect.promise(() => f(c)))
const callError = <A>(f: (c: OpenAI) => Promise<A>) =>
  Effect.flatMap(client, (c) => Effect.flip(Effect.tryPromise({ try: () => f(c), catch: (e) => e })))

const hello = { model: "auto", messages: [{ role: "user" as const, content: "hello" }] }

describe("openai client", () => {
  it.layer(serverLayer(echoGateway))((it) => {
    it.effect("non-streaming chat returns the gateway's answer", () =>
      Effect.gen(function* () {
        const { data, response: raw } = yield* call((c) => c.chat.completions.create(hello).withResponse())
        assert.strictEqual(data.choices[0]?.message.content, "echo: hello")
        assert.strictEqual(data.usage?.total_tokens, 7)
        assert.strictEqual(raw.headers.get("x-modelgate-model"), "gpt-test")
        assert.strictEqual(raw.headers.get("x-modelgate-provider"), "openai")
        assert.strictEqual(raw.headers.get("x-modelgate-cache"), "miss")
        assert.strictEqual(raw.headers.get("x-modelgate-failovers"), "0")
        assert.strictEqual(raw.headers.get("x-modelgate-cost-usd"), "0.0000015")
        assert.match(raw.headers.get("x-request-id") ?? "", /^mg-/)
      }))

    it.effect("streaming chat yields the chunks and drops the usage chunk unless asked", () =>
      Effect.gen(function* () {
        const collect = (includeUsage: boolean) =>
          call(async (c) => {
            const stream = await c.chat.completions.create({
              ...hello,
              stream: true,
              ...(includeUsage ? { stream_options: { include_usage: true } } : {})
            })
            const chunks = []
            for await (const part of stream) chunks.push(part)
            return chunks
          })
        const plain = yield* collect(false)
        assert.deepStrictEqual(plain.map((c) => c.choices[0]?.delta.content), ["echo: ", "hello"])
        const withUsage = yield* collect(true)
        assert.strictEqual(withUsage.length, 3)
        assert.deepStrictEqual(withUsage[2]?.choices, [])
        assert.strictEqual(withUsage[2]?.usage?.total_tokens, 7)
      }))

    it.effect("lists the registry's models plus auto", () =>
      Effect.gen(function* () {
        const page = yield* call((c) => c.models.list())
        assert.deepStrictEqual(page.data.map((m) => m.id), ["auto", "gpt-test", "claude-test"])
        assert.strictEqual(page.data[1]?.owned_by, "openai")
      }))

    it.effect("retrieves one model by id, by provider/model and auto; an unknown one is a NotFoundError", () =>
      Effect.gen(function* () {
        const model = yield* call((c) => c.models.retrieve("gpt-test"))
        assert.deepInclude(model, { id: "gpt-test", object: "model", owned_by: "openai" })
        // The client sends the slash encoded (%2F).
        assert.strictEqual((yield* call((c) => c.models.retrieve("anthropic/claude-test"))).id, "claude-test")
        assert.strictEqual((yield* call((c) => c.models.retrieve("auto"))).owned_by, "modelgate")
        const missing = yield* callError((c) => c.models.retrieve("missing"))
        assert.instanceOf(missing, OpenAI.NotFoundError)
        assert.include(missing.message, "missing")
      }))

    it.effect("an unknown model is a NotFoundError naming the model", () =>
      Effect.gen(function* () {
        const error = yield* callError((c) => c.chat.completions.create({ ...hello, model: "missing" }))
        assert.instanceOf(error, OpenAI.NotFoundError)
        assert.strictEqual(error.status, 404)
        assert.include(error.message, "model not found: missing")
      }))

    it.effect("an invalid body is a BadRequestError naming the field", () =>
      Effect.gen(function* () {
        const error = yield* callError((c) =>
          c.chat.completions.create({ ...hello, temperature: 7 })
        )
        assert.instanceOf(error, OpenAI.BadRequestError)
        assert.strictEqual(error.status, 400)
        assert.strictEqual(error.param, "temperature")
        assert.include(error.message, "temperature")
      }))
  })

  const toolCall = { id: "call_1", type: "function" as const, function: { name: "get_weather", arguments: "{\"city\":\"Paris\"}" } }
  const toolGateway = Gateway.of({
    complete: (request, _r, options) =>
      Effect.succeed({
        response: response("", { content: null, tool_calls: request.tools ? [toolCall] : [] }),
        meta: meta(options?.requestId)
      }),
    stream: (_request, _r, options) =>
      Effect.succeed({
        meta: meta(options?.requestId),
        chunks: Stream.make({
          ...chunk("x"),
          choices: [{ index: 0, delta: { role: "assistant" as const, tool_calls: [{ index: 0, ...toolCall }] }, finish_reason: "tool_calls" as const }]
        })
      })
  })

  it.layer(serverLayer(toolGateway))((it) => {
    it.effect("tool calls arrive as the client's typed tool calls, plain and streamed", () =>
      Effect.gen(function* () {
        const tools = [{ type: "function" as const, function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }]
        const answer = yield* call((c) => c.chat.completions.create({ ...hello, tools }))
        assert.strictEqual(answer.choices[0]?.finish_reason, "tool_calls")
        const call0 = answer.choices[0]?.message.tool_calls?.[0]
        assert.strictEqual(call0?.type === "function" ? call0.function.name : undefined, "get_weather")
        const streamed = yield* call(async (c) => {
          const s = c.chat.completions.stream({ ...hello, tools, stream: true })
          return await s.finalChatCompletion()
        })
        const streamedCall = streamed.choices[0]?.message.tool_calls?.[0]
        assert.deepStrictEqual(streamedCall?.type === "function" ? streamedCall.function : undefined, toolCall.function)
      }))
  })

  const failing = (error: Parameters<typeof Effect.fail>[0]) =>
    Gateway.of({ complete: () => Effect.fail(error as never), stream: () => Effect.fail(error as never) })

  it.effect("429 rate limits arrive as RateLimitError with Retry-After", () =>
    Effect.gen(function* () {
      const error = yield* callError((c) => c.chat.completions.create(hello))
      assert.instanceOf(error, OpenAI.RateLimitError)
      assert.strictEqual(error.status, 429)
      assert.strictEqual(error.headers.get("retry-after"), "3")
      // The exact wait, which the openai client waits out in preference to Retry-After.
      assert.strictEqual(error.headers.get("retry-after-ms"), "2500")
      assert.include(error.message, "gpt-test")
    }).pipe(Effect.provide(serverLayer(failing(new RateLimitExceeded({ model: "gpt-test", dimension: "requests", retryAfterMs: 2_500 }))))))

  it.effect("429 for a spent budget", () =>
    Effect.gen(function* () {
      const error = yield* callError((c) => c.chat.completions.create(hello))
      assert.instanceOf(error, OpenAI.RateLimitError)
      assert.strictEqual(error.code, "budget_exceeded")
    }).pipe(Effect.provide(serverLayer(failing(new BudgetExceeded({ budget: "global", period: "daily", limitUsd: 1, spentUsd: 1.2 }))))))

  it.effect("503 when no model is eligible, naming why", () =>
    Effect.gen(function* () {
      const error = yield* callError((c) => c.chat.completions.create(hello))
      assert.instanceOf(error, OpenAI.InternalServerError)
      assert.strictEqual(error.status, 503)
      assert.include(error.message, "gpt-test (no API key)")
    }).pipe(Effect.provide(serverLayer(failing(new NoEligibleModel({ exclusions: [{ model: "gpt-test", reason: "no API key" }] }))))))

  it.effect("503 for a missing provider key names the provider", () =>
    Effect.gen(function* () {
      const error = yield* callError((c) => c.chat.completions.create(hello))
      assert.instanceOf(error, OpenAI.APIError)
      assert.strictEqual(error.status, 503)
      assert.include(error.message, "no usable API key for openai: OPENAI_API_KEY is not set")
      assert.notInclude(JSON.stringify(error.error), "sk-")
    }).pipe(Effect.provide(serverLayer(failing(new MissingApiKey({ provider: "openai", reason: "OPENAI_API_KEY is not set" }))))))

  it.effect("502 when the provider fails after failover", () =>
    Effect.gen(function* () {
      const error = yield* callError((c) => c.chat.completions.create(hello))
      assert.instanceOf(error, OpenAI.InternalServerError)
      assert.strictEqual(error.status, 502)
    }).pipe(Effect.provide(serverLayer(failing(new ServerError({ provider: "openai", model: "gpt-test", status: 500, detail: "boom" }))))))

  const breaking = Gateway.of({
    complete: () => Effect.die("unused"),
    stream: (_request, _r, options) =>
      Effect.succeed({
        meta: meta(options?.requestId),
        chunks: Stream.concat(
          Stream.make(chunk("partial")),
          Stream.fail(new StreamInterrupted({ provider: "openai", model: "gpt-test", detail: "connection reset" }))
        )
      })
  })

  it.effect("a stream that breaks mid-way makes the client throw, never end cleanly", () =>
    Effect.gen(function* () {
      const seen: Array<string> = []
      const error = yield* callError(async (c) => {
        const stream = await c.chat.completions.create({ ...hello, stream: true })
        for await (const part of stream) seen.push(part.choices[0]?.delta.content ?? "")
      })
      assert.deepStrictEqual(seen, ["partial"])
      assert.instanceOf(error, OpenAI.APIError)
      assert.include((error as InstanceType<typeof OpenAI.APIError>).message, "connection reset")
    }).pipe(Effect.provide(serverLayer(breaking))))

  it.effect("a failure inside the stream defect path still ends with an error event", () =>
    Effect.gen(function* () {
      const error = yield* callError(async (c) => {
        const stream = await c.chat.completions.create({ ...hello, stream: true })
        for await (const _ of stream) {
          // drain
        }
      })
      assert.instanceOf(error, OpenAI.APIError)
      assert.include((error as InstanceType<typeof OpenAI.APIError>).message, "internal gateway error")
    }).pipe(
      Effect.provide(
        serverLayer(Gateway.of({
          complete: () => Effect.die("unused"),
          stream: (_r, _q, o) => Effect.succeed({ meta: meta(o?.requestId), chunks: Stream.concat(Stream.make(chunk("a")), Stream.die("bug")) })
        }))
      )
    ))
})


