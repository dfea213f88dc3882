/**
 * HttpClientLive, GatewayLive's HTTP client, against a node:http server on
 * loopback: what a response carries, transport failures, interruption and
 * scope closing abort the request, and an adapter's deadline (TestClock) and
 * streams over it. Every case runs with the tracer off (as `modelgate serve`
 * runs: the lean undici path for a request with a `Scope`), on (the
 * platform's client, which opens the span and propagates the trace), and on
 * without propagation (as `modelgate serve` traces: the lean path, in a light
 * span of its own).
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import * as HttpClientLive from "@modelgate/node/HttpClientLive"
import * as OpenAi from "@modelgate/providers/OpenAi"
import { awaitSleep } from "@modelgate/testkit/FakeServer"
import * as LoopbackServer from "@modelgate/testkit/LoopbackServer"
import { modelOf } from "@modelgate/testkit/TestModel"
import { Chunk, Context, Deferred, Effect, Exit, Fiber, Layer, Redacted, Scope, Stream, TestClock, Tracer } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

const completion = {
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 1_700_000_000,
  model: "gpt-4o-mini",
  choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop", logprobs: null }],
  usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 }
}

/** One event of a streamed completion, as OpenAI sends it. */
const event = `data: ${JSON.stringify({
  id: "chatcmpl-1",
  object: "chat.completion.chunk",
  created: 1_700_000_000,
  model: "gpt-4o-mini",
  choices: [{ index: 0, delta: { role: "assistant", content: "hi" }, finish_reason: null }]
})}\n\n`

/**
 * `/answer`: 201 with headers, a cookie and a JSON body echoing the request
 * body. `/chunks`: three chunks. `/hang` and `/v1/chat/completions` with
 * "hang" in the body: no answer; with "stall" in the body: a streamed
 * answer's headers and first event, then nothing. Other
 * `/v1/chat/completions`: a completion.
 */
const loopback = LoopbackServer.make(({ body, path }, res) => {
  if (path === "/v1/chat/completions" && body.includes("stall")) {
    res.writeHead(200, { "content-type": "text/event-stream" })
    res.write(event)
  } else if (path === "/answer") {
    res.writeHead(201, { "content-type": "application/json", "x-answer": "yes", "set-cookie": "session=abc; Path=/" })
    res.end(JSON.stringify({ echo: body }))
  } else if (path === "/chunks") {
    res.writeHead(200, { "content-type": "text/plain" })
    res.write("a")
    res.write("b")
    res.end("c")
  } else if (path === "/v1/chat/completions" && !body.includes("hang")) {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(completion))
  }
})

const model = modelOf("openai", "gpt-4o-mini", "gpt-test")

const tracerStates = [["tracer off", false, false], ["tracer on", true, true], ["tracer on, no propagation", true, false]] as const

describe.each(tracerStates)("HttpClientLive, %s", (_, tracer, propagate) => {
  const live = Layer.mergeAll(
    HttpClientLive.layer,
    Layer.setTracerEnabled(tracer),
    Layer.locallyScoped(HttpClient.currentTracerPropagation, propagate)
  )

  it.scoped("a response carries status, headers, cookies and the body as text, json or a stream", () =>
    Effect.gen(function*() {
      const server = yield* loopback
      const client = yield* HttpClient.HttpClient
      const post = HttpClientRequest.post(`${server.url}/answer`).pipe(HttpClientRequest.bodyText("ping"))
      const answer = yield* Effect.scoped(Effect.flatMap(client.execute(post), (res) =>
        Effect.map(res.json, (json) => ({ status: res.status, headers: res.headers, cookies: res.cookies, json }))))
      assert.strictEqual(answer.status, 201)
      assert.strictEqual(answer.headers["x-answer"], "yes")
      assert.strictEqual(answer.cookies.cookies["session"]?.value, "abc")
      assert.deepStrictEqual(answer.json, { echo: "ping" })
      const { method, path, body, headers } = server.requests[0]!
      assert.deepStrictEqual({ method, path, body }, { method: "POST", path: "/answer", body: "ping" })
      assert.strictEqual(headers["content-type"], "text/plain")
      // With a tracer that propagates, the request carries the trace (W3C traceparent); else nothing is added.
      assert.strictEqual(typeof headers["traceparent"], propagate ? "string" : "undefined")

      const text = yield* Effect.scoped(Effect.flatMap(client.execute(post), (res) => res.text))
      assert.strictEqual(text, "{\"echo\":\"ping\"}")
      const pieces = yield* Effect.scoped(Effect.flatMap(client.get(`${server.url}/chunks`), (res) =>
        Stream.runCollect(Stream.decodeText(res.stream))))
      assert.strictEqual(Chunk.join(pieces, ""), "abc")
    }).pipe(Effect.provide(live)))

  it.scoped("a refused connection is a RequestError with reason Transport", () =>
    Effect.gen(function*() {
      const free = yield* Effect.async<number>((resume) => {
        const probe = http.createServer().listen(0, "127.0.0.1", () => {
          const { port } = probe.address() as AddressInfo
          probe.close(() => resume(Effect.succeed(port)))
        })
      })
      const client = yield* HttpClient.HttpClient
      const error = yield* Effect.flip(Effect.scoped(client.get(`http://127.0.0.1:${free}/`)))
      assert.strictEqual(error._tag, "RequestError")
      assert.strictEqual(error.reason, "Transport")
    }).pipe(Effect.provide(live)))

  it.scoped("interrupting a request, or closing the scope of a withScope request, closes its connection", () =>
    Effect.gen(function*() {
      const server = yield* loopback
      const client = yield* HttpClient.HttpClient
      const fiber = yield* Effect.fork(Effect.scoped(client.get(`${server.url}/hang`)))
      yield* server.arrived(1)
      assert.isTrue(Exit.isInterrupted(yield* Fiber.interrupt(fiber)))
      assert.strictEqual(yield* server.closed(1), "closed")

      const scope = yield* Scope.make()
      const scoped = client.pipe(HttpClient.withScope)
      const pending = yield* Effect.fork(Scope.extend(scoped.get(`${server.url}/hang`), scope))
      yield* server.arrived(2)
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(yield* server.closed(2), "closed")
      assert.strictEqual((yield* Effect.flip(Fiber.join(pending)))._tag, "RequestError")
    }).pipe(Effect.provide(live)))

  it.scoped("a request with a Scope, interrupted before its answer, closes its connection before the Scope does", () =>
    Effect.gen(function*() {
      const server = yield* loopback
      const client = yield* HttpClient.HttpClient
      const fiber = yield* Effect.fork(client.get(`${server.url}/hang`))
      yield* server.arrived(1)
      assert.isTrue(Exit.isInterrupted(yield* Fiber.interrupt(fiber)))
      assert.strictEqual(yield* server.closed(1), "closed")
    }).pipe(Effect.provide(live)))

  it.scoped("a request outside any Scope is answered, and interrupting it closes its connection", () =>
    Effect.gen(function*() {
      const server = yield* loopback
      const client = yield* HttpClient.HttpClient
      // The test's own Scope taken out of the context, for this request only.
      const unscoped = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E, Scope.Scope> =>
        Effect.mapInputContext(effect, (context: Context.Context<Scope.Scope>) => Context.omit(Scope.Scope)(context))
      const res = yield* unscoped(client.get(`${server.url}/answer`))
      assert.strictEqual(res.status, 201)
      assert.deepStrictEqual(yield* res.json, { echo: "" })
      const fiber = yield* Effect.fork(unscoped(client.get(`${server.url}/hang`)))
      yield* server.arrived(2)
      assert.isTrue(Exit.isInterrupted(yield* Fiber.interrupt(fiber)))
      assert.strictEqual(yield* server.closed(2), "closed")
    }).pipe(Effect.provide(live)))

  it.scoped("the OpenAI adapter's stream over it: the events as they come, and interrupting the reader closes the connection", () =>
    Effect.gen(function*() {
      const server = yield* loopback
      const provider = yield* OpenAi.make(
        Effect.succeed(ProviderConfig.make({ baseUrl: `${server.url}/v1`, maxRetries: 0, timeoutMs: 60_000 }))
      )
      const result = yield* provider.stream({
        model,
        key: { id: "openai#1", value: Redacted.make("sk-test") },
        request: { model: model.id, messages: [{ role: "user", content: "stall" }], stream: true }
      })
      const seen: Array<string> = []
      const first = yield* Deferred.make<void>()
      const reader = yield* Effect.fork(
        Stream.runForEach(result.chunks, (chunk) =>
          Effect.zipRight(Effect.sync(() => seen.push(chunk.choices[0]?.delta.content ?? "")), Deferred.succeed(first, undefined)))
      )
      yield* Deferred.await(first)
      assert.deepStrictEqual(seen, ["hi"])
      assert.strictEqual(server.requests[0]?.headers["authorization"], "Bearer sk-test")
      yield* Fiber.interrupt(reader)
      assert.strictEqual(yield* server.closed(1), "closed")
    }).pipe(Effect.provide(live)))

  it.scoped("the OpenAI adapter over it: an answer; past its deadline (TestClock) Timeout, or interrupted, and the connection is closed", () =>
    Effect.gen(function*() {
      const server = yield* loopback
      const provider = yield* OpenAi.make(
        Effect.succeed(ProviderConfig.make({ baseUrl: `${server.url}/v1`, maxRetries: 0, timeoutMs: 2_000 }))
      )
      const ask = (content: string) =>
        provider.chat({ model, key: { id: "openai#1", value: Redacted.make("sk-test") }, request: { model: model.id, messages: [{ role: "user", content }] } })
      const answer = yield* ask("hello")
      assert.strictEqual(answer.response.choices[0]?.message.content, "hi")

      const fiber = yield* Effect.fork(ask("hang"))
      yield* server.arrived(2)
      yield* TestClock.adjust(yield* awaitSleep((ms) => ms === 2_000))
      assert.strictEqual((yield* Effect.flip(Fiber.join(fiber)))._tag, "Timeout")
      assert.strictEqual(yield* server.closed(2), "closed")

      // Interrupted while it waits for the answer: the connection is closed at once, not at the deadline.
      const interrupted = yield* Effect.fork(ask("hang"))
      yield* server.arrived(3)
      assert.isTrue(Exit.isInterrupted(yield* Fiber.interrupt(interrupted)))
      assert.strictEqual(yield* server.closed(3), "closed")
    }).pipe(Effect.provide(live)))
})

/** A tracer that keeps every span it ends: name, kind, attributes, status. */
const recording = () => {
  const ended: Array<{ name: string; kind: string; attributes: Map<string, unknown>; failed: boolean }> = []
  let ids = 0
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const attributes = new Map<string, unknown>()
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId: `span${++ids}`,
        traceId: "trace",
        parent,
        context,
        status: { _tag: "Started", startTime },
        attributes,
        links: [...links],
        sampled: true,
        kind,
        end: (endTime, exit) => {
          ;(span as { status: Tracer.SpanStatus }).status = { _tag: "Ended", startTime, endTime, exit }
          ended.push({ name, kind, attributes, failed: Exit.isFailure(exit) })
        },
        attribute: (key, value) => void attributes.set(key, value),
        event: () => {},
        addLinks: () => {}
      }
      return span
    },
    context: (f) => f()
  })
  return { tracer, ended }
}

/** Answers every request 201, whatever its path and query. */
const anyPath = LoopbackServer.make((_, res) => void res.writeHead(201, { "content-type": "application/json" }).end("{}"))

describe("HttpClientLive traced without propagation (as modelgate serve traces)", () => {
  it.scoped("each request is one light client span: method, server, URL without query or credentials, status; no header", () =>
    Effect.gen(function*() {
      const server = yield* anyPath
      const { ended, tracer } = recording()
      const client = yield* HttpClient.HttpClient
      const url = `${server.url.replace("http://", "http://user:hunter2@")}/answer?key=secret-in-query`
      const post = HttpClientRequest.post(url).pipe(
        HttpClientRequest.setHeader("authorization", "Bearer sk-never-recorded"),
        HttpClientRequest.bodyText("ping")
      )
      const status = yield* Effect.scoped(Effect.map(client.execute(post), (res) => res.status)).pipe(Effect.withTracer(tracer))
      assert.strictEqual(status, 201)
      assert.isUndefined(server.requests[0]!.headers["traceparent"], "no trace context sent")
      const spans = ended.filter((s) => s.name.startsWith("http.client"))
      assert.strictEqual(spans.length, 1, ended.map((s) => s.name).join(", "))
      const [span] = spans
      assert.strictEqual(span!.name, "http.client POST")
      assert.strictEqual(span!.kind, "client")
      assert.isFalse(span!.failed)
      assert.deepStrictEqual(Object.fromEntries(span!.attributes), {
        "http.request.method": "POST",
        "server.address": server.url,
        "url.full": `${server.url}/answer`,
        "http.response.status_code": 201
      })
    }).pipe(
      Effect.provide(Layer.mergeAll(HttpClientLive.layer, Layer.setTracerEnabled(true), Layer.locallyScoped(HttpClient.currentTracerPropagation, false)))
    ))
})
