/**
 * A streamed chat answer that sends nothing for a whole keep-alive interval
 * (a model thinking before its next event) gets a `: keep-alive` comment, so
 * a proxy's idle timeout does not cut it; SSE readers skip comments, so the
 * answer's events are unchanged. `server.sseKeepAliveMs: 0` sends none.
 */
import { HttpServer } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { Context, Deferred, Effect, Exit, Layer, Scope, Stream, TestClock } from "effect"
import * as Http from "node:http"
import OpenAI from "openai"
import * as HttpApp from "../src/HttpApp.js"
import { comment } from "../src/http/SseKeepAlive.js"
import { chatBody } from "./support/Client.js"
import { chunk, echoGateway, meta, services } from "./support/Doubles.js"

/** The gateway on a real socket, with a stream of "a", then "b" once `next` is done. */
const start = (sseKeepAliveMs: number | undefined) =>
  Effect.gen(function* () {
    const next = yield* Deferred.make<void>()
    const gateway = Gateway.of({
      complete: echoGateway.complete,
      stream: (_request, _requirements, options) =>
        Effect.succeed({
          meta: meta(options?.requestId),
          chunks: Stream.concat(Stream.make(chunk("a")), Stream.fromEffect(Effect.as(Deferred.await(next), chunk("b"))))
        })
    })
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(
      HttpApp.serve({ port: 0, host: "127.0.0.1" }).pipe(Layer.provide(services(gateway, { sseKeepAliveMs }))),
      scope
    )
    const address = Context.get(context, HttpServer.HttpServer).address
    const port = address._tag === "TcpAddress" ? address.port : 0
    return { scope, next, url: `http://127.0.0.1:${port}` }
  })

/** A streamed request whose body is read as it comes: `seen` resolves once the text so far includes `part`. */
const open = (url: string) =>
  Effect.sync(() => {
    let text = ""
    const waiters: Array<[string, () => void]> = []
    const done = new Promise<string>((resolve) => {
      const req = Http.request(`${url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" } }, (res) => {
        res.setEncoding("utf8")
        res.on("data", (d: string) => {
          text += d
          for (const [part, wake] of waiters) if (text.includes(part)) wake()
        })
        res.on("end", () => resolve(text))
      })
      req.end(JSON.stringify(chatBody({ stream: true })))
    })
    const seen = (part: string) =>
      Effect.promise(() => new Promise<void>((resolve) => (text.includes(part) ? resolve() : waiters.push([part, resolve]))))
    return { seen, body: Effect.promise(() => done) }
  })

/** The events and comments of an SSE body, in order. */
const parts = (text: string) =>
  text.split("\n\n").filter((e) => e !== "").map((e) =>
    e.startsWith(":") ? e : e === "data: [DONE]" ? "[DONE]" : (JSON.parse(e.slice("data: ".length)) as { choices: Array<{ delta: { content: string } }> }).choices[0]!.delta.content
  )

describe("SSE keep-alive comments on a quiet chat stream", () => {
  it.scoped("a stream quiet for a whole interval gets a comment; its events are unchanged", () =>
    Effect.gen(function* () {
      const server = yield* start(undefined)
      const client = yield* open(server.url)
      yield* client.seen("\"a\"")
      // The first tick saw the opening written; the second finds the stream quiet since.
      yield* TestClock.adjust("15 seconds")
      yield* TestClock.adjust("15 seconds")
      yield* client.seen(comment)
      yield* Deferred.succeed(server.next, undefined)
      assert.deepStrictEqual(parts(yield* client.body), ["a", comment.trim(), "b", "[DONE]"])
      yield* Scope.close(server.scope, Exit.void)
    }))

  it.scoped("the official openai client reads a stream with a keep-alive comment as if it were not there", () =>
    Effect.gen(function* () {
      const server = yield* start(undefined)
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 })
      const got: Array<string> = []
      let firstSeen: () => void = () => {}
      const first = new Promise<void>((resolve) => (firstSeen = resolve))
      const reading = (async () => {
        const stream = await client.chat.completions.create({ model: "auto", messages: [{ role: "user", content: "hi" }], stream: true })
        for await (const part of stream) {
          got.push(part.choices[0]?.delta.content ?? "")
          firstSeen()
        }
        return got
      })()
      yield* Effect.promise(() => first)
      // As in the first test: the second tick writes the comment, before "b" is written.
      yield* TestClock.adjust("30 seconds")
      yield* Deferred.succeed(server.next, undefined)
      assert.deepStrictEqual(yield* Effect.promise(() => reading), ["a", "b"])
      yield* Scope.close(server.scope, Exit.void)
    }))

  it.scoped("with server.sseKeepAliveMs 0 a quiet stream gets none", () =>
    Effect.gen(function* () {
      const server = yield* start(0)
      const client = yield* open(server.url)
      yield* client.seen("\"a\"")
      yield* TestClock.adjust("10 minutes")
      yield* Deferred.succeed(server.next, undefined)
      assert.deepStrictEqual(parts(yield* client.body), ["a", "b", "[DONE]"])
      yield* Scope.close(server.scope, Exit.void)
    }))
})
