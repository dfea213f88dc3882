/**
 * A body nested thousands of levels deep (well inside the 10 MiB
 * limit: 5,000 levels are 10 kB) must be a 4xx in the OpenAI shape, like any
 * other bad input, not a 500 "internal gateway error". It was a 500 three
 * ways: an extra top-level parameter (sent on to the provider, whose
 * `JSON.stringify` overflows the stack), a message's content (the Schema
 * error's formatting of the value overflows), the `modelgate` object (its
 * error message's `JSON.stringify` overflows).
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { Effect, Stream } from "effect"
import { chatBody, post, request } from "./support/Client.js"
import { meta, response, serverLayer } from "./support/Doubles.js"

/** A gateway that serialises the request as every provider adapter does before sending it. */
const serialising: Gateway["Type"] = Gateway.of({
  complete: (req, _requirements, options) =>
    Effect.sync(() => JSON.stringify(req)).pipe(Effect.as({ response: response("ok"), meta: meta(options?.requestId) })),
  stream: (_req, _requirements, options) => Effect.succeed({ meta: meta(options?.requestId), chunks: Stream.empty })
})

const deep = (n: number) => "[".repeat(n) + "]".repeat(n)
const depth = 5_000

describe("Deeply nested JSON", () => {
  it.layer(serverLayer(serialising))((it) => {
    for (
      const [name, body] of [
        ["an extra parameter", `{"model":"gpt-test","messages":[{"role":"user","content":"hi"}],"extra_thing":${deep(depth)}}`],
        ["a message's content", `{"model":"auto","messages":[{"role":"user","content":${deep(depth)}}]}`],
        ["the modelgate object", `{"model":"auto","messages":[{"role":"user","content":"hi"}],"modelgate":{"capabilities":${deep(depth)}}}`]
      ] as const
    ) {
      it.effect(`${name} nested ${depth} levels deep is a 400, and the server keeps serving`, () =>
        Effect.gen(function* () {
          const reply = yield* request("/v1/chat/completions", { body })
          assert.strictEqual(reply.status, 400, reply.text)
          assert.strictEqual(reply.json.error.type, "invalid_request_error")
          assert.include(reply.json.error.message, "nested")
          const ok = yield* post("/v1/chat/completions", chatBody())
          assert.strictEqual(ok.status, 200)
        }))
    }

    it.effect("ordinary nesting (a tool's JSON schema a few levels deep) is still served", () =>
      Effect.gen(function* () {
        let schema: Record<string, unknown> = { type: "string" }
        for (let i = 0; i < 20; i++) schema = { type: "object", properties: { inner: schema } }
        const reply = yield* post("/v1/chat/completions", chatBody({
          model: "gpt-test",
          tools: [{ type: "function", function: { name: "f", parameters: schema } }]
        }))
        assert.strictEqual(reply.status, 200, reply.text)
      }))
  })
})
