/**
 * A registry id may hold any character (`id` is a non-empty trimmed string):
 * a line feed, or a character past U+00FF (`€`), cannot go in an HTTP header
 * as it is, and the answer the provider was paid for must still reach the
 * client. `x-modelgate-model` carries such an id percent-encoded (as
 * `encodeURIComponent`), whole or streamed; a printable-ASCII id goes as it is.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { Effect, Exit, Scope, Stream } from "effect"
import { chunk, meta, response } from "./support/Doubles.js"
import { serveWith } from "./support/Served.js"

const odd = "we\"ird\\mo\ndel €"

const gateway = (model: string) =>
  Gateway.of({
    complete: (_request, _requirements, options) => Effect.succeed({ response: response("hi"), meta: meta(options?.requestId, { model }) }),
    stream: (_request, _requirements, options) =>
      Effect.succeed({ meta: meta(options?.requestId, { model, costUsd: undefined }), chunks: Stream.make(chunk("hi", true), chunk(undefined)) })
  })

const ask = (port: number, stream: boolean) =>
  Effect.promise(() =>
    fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "auto", stream, messages: [{ role: "user", content: "hi" }] })
    }).then(async (r) => ({ status: r.status, model: r.headers.get("x-modelgate-model"), text: await r.text() })))

describe("x-modelgate-model for any registry id", () => {
  it.live("an id a header cannot carry is answered 200, its header percent-encoded; a plain id as it is", () =>
    Effect.gen(function* () {
      for (const [id, header] of [[odd, encodeURIComponent(odd)], ["llama3.1:8b", "llama3.1:8b"]] as const) {
        const server = yield* serveWith(gateway(id))
        for (const stream of [false, true]) {
          const answer = yield* ask(server.port, stream)
          assert.strictEqual(answer.status, 200, `${JSON.stringify(id)} stream ${stream}: ${answer.text}`)
          assert.strictEqual(answer.model, header)
          assert.include(answer.text, "hi")
        }
        yield* Scope.close(server.scope, Exit.void)
      }
    }))
})
