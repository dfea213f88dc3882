/**
 * Bad input to `POST /v1/chat/completions`: each is a 4xx in the OpenAI error
 * shape naming the problem, and the server keeps serving afterwards.
 */
import { assert, describe, it } from "@effect/vitest"
import { Capability } from "@modelgate/domain/Model"
import { Effect } from "effect"
import * as Http from "node:http"
import { chatBody, post, type Reply, request } from "./support/Client.js"
import { baseUrl, echoGateway, serverLayer } from "./support/Doubles.js"

const limit = 4_096

const expectError = (reply: Reply, status: number, includes: string, param?: string) => {
  assert.strictEqual(reply.status, status, reply.text)
  assert.strictEqual(reply.headers.get("content-type"), "application/json")
  assert.isString(reply.json?.error?.message)
  assert.isString(reply.json?.error?.type)
  assert.isString(reply.json?.error?.code)
  assert.include(reply.json.error.message, includes)
  if (param !== undefined) assert.strictEqual(reply.json.error.param, param)
  assert.isString(reply.headers.get("x-request-id"))
}

/** The server still answers a good request. */
const stillServing = Effect.gen(function* () {
  const reply = yield* post("/v1/chat/completions", chatBody())
  assert.strictEqual(reply.status, 200)
  assert.strictEqual(reply.json.choices[0].message.content, "echo: hello")
})

/** Send `size` bytes as a chunked body (no Content-Length), so the limit is enforced while reading. */
const chunkedUpload = (size: number) =>
  Effect.flatMap(baseUrl, (url) =>
    Effect.async<{ status: number; body: string }>((resume) => {
      const req = Http.request(`${url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" } }, (res) => {
        let body = ""
        res.setEncoding("utf8")
        res.on("data", (c: string) => (body += c))
        res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, body })))
      })
      req.on("error", () => {
        // The server closes the connection after its 413; the answer has arrived by then.
      })
      const piece = Buffer.alloc(1_024, "a")
      for (let sent = 0; sent < size; sent += piece.length) req.write(piece)
      req.end()
    }))

describe("bad input", () => {
  it.layer(serverLayer(echoGateway, { maxBodyBytes: limit }))((it) => {
    it.effect("malformed JSON is a 400 saying so", () =>
      Effect.gen(function* () {
        expectError(yield* request("/v1/chat/completions", { body: "{\"model\": \"auto\", " }), 400, "not valid JSON")
        yield* stillServing
      }))

    it.effect("a body that is not an object is a 400", () =>
      Effect.gen(function* () {
        expectError(yield* request("/v1/chat/completions", { body: "[1,2]" }), 400, "JSON object")
        expectError(yield* request("/v1/chat/completions", { body: "" }), 400, "empty")
        yield* stillServing
      }))

    it.effect("wrong types name the field", () =>
      Effect.gen(function* () {
        expectError(yield* post("/v1/chat/completions", chatBody({ temperature: "hot" })), 400, "temperature", "temperature")
        expectError(yield* post("/v1/chat/completions", chatBody({ model: 42 })), 400, "model", "model")
        expectError(
          yield* post("/v1/chat/completions", chatBody({ messages: [{ role: "user", content: 7 }] })),
          400,
          "messages[0]"
        )
        expectError(yield* post("/v1/chat/completions", { messages: [{ role: "user", content: "hi" }] }), 400, "model", "model")
        yield* stillServing
      }))

    it.effect("asking for log probabilities is a 400 naming logprobs (no answer carries them); false is accepted", () =>
      Effect.gen(function* () {
        expectError(yield* post("/v1/chat/completions", chatBody({ logprobs: true })), 400, "does not return log probabilities", "logprobs")
        assert.strictEqual((yield* post("/v1/chat/completions", chatBody({ logprobs: false }))).status, 200)
        yield* stillServing
      }))

    it.effect("empty messages is a 400 naming messages", () =>
      Effect.gen(function* () {
        expectError(yield* post("/v1/chat/completions", chatBody({ messages: [] })), 400, "messages", "messages")
        yield* stillServing
      }))

    it.effect("an unknown model is a 404 naming it", () =>
      Effect.gen(function* () {
        const reply = yield* post("/v1/chat/completions", chatBody({ model: "missing" }))
        expectError(reply, 404, "model not found: missing", "model")
        assert.strictEqual(reply.json.error.code, "model_not_found")
        yield* stillServing
      }))

    it.effect("invalid UTF-8 is a 400 saying so", () =>
      Effect.gen(function* () {
        const json = Buffer.from(JSON.stringify(chatBody({ messages: [{ role: "user", content: "XX" }] })))
        const at = json.indexOf("XX")
        json[at] = 0xc3
        json[at + 1] = 0x28
        expectError(yield* request("/v1/chat/completions", { body: new Uint8Array(json) }), 400, "not valid UTF-8")
        yield* stillServing
      }))

    it.effect("a body over the limit is a 413, by Content-Length and while reading", () =>
      Effect.gen(function* () {
        const big = JSON.stringify(chatBody({ messages: [{ role: "user", content: "x".repeat(limit) }] }))
        expectError(yield* request("/v1/chat/completions", { body: big }), 413, `limit of ${limit} bytes`)
        yield* stillServing
        const chunked = yield* chunkedUpload(limit * 4)
        assert.strictEqual(chunked.status, 413)
        assert.include(JSON.parse(chunked.body).error.message, `limit of ${limit} bytes`)
        yield* stillServing
      }))

    it.effect("bad modelgate requirements and headers name what is wrong", () =>
      Effect.gen(function* () {
        expectError(
          yield* post("/v1/chat/completions", chatBody({ modelgate: { priority: "URGENT" } })),
          400,
          `invalid 'modelgate.priority': expected one of LOW, MEDIUM, HIGH, CRITICAL, got "URGENT"`,
          "modelgate.priority"
        )
        expectError(
          yield* post("/v1/chat/completions", chatBody({ modelgate: { priority: 3 } })),
          400,
          `invalid 'modelgate.priority': expected one of LOW, MEDIUM, HIGH, CRITICAL, got 3`,
          "modelgate.priority"
        )
        expectError(
          yield* post("/v1/chat/completions", chatBody({ modelgate: { capabilities: ["chat", "foo"] } })),
          400,
          `invalid 'modelgate.capabilities[1]': expected one of ${Capability.literals.join(", ")}, got "foo"`,
          "modelgate.capabilities[1]"
        )
        // A misspelt option is refused, never dropped with the cap it asked for.
        const misspelt = yield* post("/v1/chat/completions", chatBody({ modelgate: { maxCostUSD: 0.001 } }))
        expectError(misspelt, 400, `invalid 'modelgate.maxCostUSD': is unexpected, expected: "capabilities" | "priority" | "maxCostUsd"`, "modelgate.maxCostUSD")
        expectError(
          yield* post("/v1/chat/completions", chatBody(), { "x-modelgate-priority": "urgent" }),
          400,
          `expected one of LOW, MEDIUM, HIGH, CRITICAL, got "urgent"`,
          "x-modelgate-priority"
        )
        expectError(
          yield* post("/v1/chat/completions", chatBody(), { "x-modelgate-capabilities": "tools,telepathy" }),
          400,
          "telepathy",
          "x-modelgate-capabilities"
        )
        expectError(
          yield* post("/v1/chat/completions", chatBody(), { "x-modelgate-cache-ttl": "soon" }),
          400,
          "x-modelgate-cache-ttl"
        )
        yield* stillServing
      }))

    it.effect("an unknown route is a 404 in the OpenAI shape", () =>
      Effect.gen(function* () {
        expectError(yield* request("/v1/completions", { body: "{}" }), 404, "no route for POST /v1/completions")
      }))
  })
})
