import * as Sse from "@effect/experimental/Sse"
import { NodeHttpClient } from "@effect/platform-node"
import { Headers, HttpClientRequest } from "@effect/platform"
import { ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import { type Answer, awaitSleep, Fault, type FakeProvider, make as makeFake } from "@modelgate/testkit/FakeServer"
import { assert, describe, it } from "@effect/vitest"
import type { ChatChunk } from "@modelgate/domain/Chat"
import { endpointEvidence, StreamInterrupted } from "@modelgate/domain/ProviderError"
import { Chunk, Deferred, Effect, Either, Exit, Fiber, Schema, Stream, TestClock } from "effect"
import * as fc from "fast-check"
import {
  classifyStatus,
  decodeJson,
  genericError,
  type LineTranslator,
  makeProviderHttp,
  makeSseParser,
  parseDuration,
  parseRetryAfter,
  standardRetryAfter,
  stripSecrets,
  translateNdjson,
  translateSse
} from "../src/internal/index.js"
import { errorContextOf, unusedPort } from "./internal/fixtures.js"

const toy: FakeProvider = {
  name: "toy",
  handle: (request): Answer =>
    request.path === "/stream"
      ? { _tag: "Stream", contentType: "text/event-stream", chunks: ["data: a\n\n", "data: b\n\n"], terminalChunks: 1 }
      : { _tag: "Json", status: 200, body: { n: 1 } },
  errorAnswer: ({ message, retryAfterMs }) => ({
    body: JSON.stringify({ error: { message } }),
    headers: retryAfterMs !== undefined ? { "retry-after": String(Math.ceil(retryAfterMs / 1000)) } : {}
  })
}

const info = { model: "toy-model", keyId: "toy#1", secrets: ["sk-secret-value-123"] }
const Body = Schema.Struct({ n: Schema.Number })

const setup = (config: Partial<ConstructorParameters<typeof ProviderConfig>[0]> = {}) =>
  Effect.gen(function*() {
    const server = yield* makeFake(toy)
    const http = yield* makeProviderHttp({
      provider: "toy",
      getConfig: Effect.succeed(ProviderConfig.make({ baseUrl: server.url, ...config })),
      requestId: (h) => h["x-request-id"],
      rateLimit: () => undefined,
      classify: (ctx) => genericError(ctx, ctx.excerpt, standardRetryAfter(ctx.headers, ctx.nowMs))
    })
    const get = http.call(info, HttpClientRequest.get(`${server.url}/chat`), (res) =>
      decodeJson(Body, res.body, { provider: "toy", info, meta: res }))
    return { server, http, get }
  })

describe("header parsers", () => {
  it("parses Go durations and retry-after", () => {
    assert.strictEqual(parseDuration("6m0s"), 360_000)
    assert.strictEqual(parseDuration("1s"), 1_000)
    assert.strictEqual(parseDuration("20ms"), 20)
    assert.strictEqual(parseDuration("1h2m3.5s"), 3_723_500)
    assert.strictEqual(parseDuration("2"), 2_000)
    assert.strictEqual(parseDuration("soon"), undefined)
    assert.strictEqual(parseRetryAfter("3", 0), 3_000)
    assert.strictEqual(parseRetryAfter("Thu, 01 Jan 1970 00:00:10 GMT", 4_000), 6_000)
    assert.strictEqual(standardRetryAfter(Headers.fromInput({ "retry-after": "3", "retry-after-ms": "1500" }), 0), 1_500)
  })

  it("strips secrets and key-shaped strings", () => {
    const text = stripSecrets("key sk-secret-value-123 and sk-proj-abcdefgh and Bearer abc.def", ["sk-secret-value-123"])
    assert.notInclude(text, "secret-value")
    assert.notInclude(text, "abcdefgh")
    assert.notInclude(text, "abc.def")
  })

  it("strips a key a provider echoes partly masked, ends included", () => {
    for (const echo of ["sk-****Qx7Z", "sk-proj-********************Qx7Z", "sk-ab12***************Qx7Z", "AIza***Qx7Z"]) {
      const text = stripSecrets(`Incorrect API key provided: ${echo}. You can find your API key at https://platform.openai.com/account/api-keys.`, [])
      assert.notInclude(text, "Qx7Z", echo)
      assert.include(text, "Incorrect API key provided: [redacted]. You can find your API key", echo)
    }
  })

  it("classification is total: every status maps to exactly one class", () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 599 }), (status) => {
        const cls = classifyStatus(status)
        assert.strictEqual(cls === "success", status >= 200 && status < 300)
        if (cls !== "success") {
          const error = genericError(errorContextOf("p", info, status, ""), "x", undefined)
          assert.strictEqual(error._tag, cls)
        }
      }),
      { numRuns: 500 }
    )
  })
})

describe("ProviderHttp", () => {
  it.scoped("decodes a 2xx body; a body that does not decode is MalformedResponse with an excerpt", () =>
    Effect.gen(function*() {
      const { get, server } = yield* setup({ maxRetries: 0 })
      assert.deepStrictEqual(yield* get, { n: 1 })
      yield* server.script(Fault.malformedJson("<html>sk-secret-value-123 oops</html>"))
      const error = yield* Effect.flip(get)
      assert.strictEqual(error._tag, "MalformedResponse")
      assert.include(error.detail, "oops")
      assert.notInclude(error.detail, "sk-secret-value-123")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("a Retry-After hint wins over the schedule (TestClock)", () =>
    Effect.gen(function*() {
      const { get, server } = yield* setup({ maxRetries: 2 })
      yield* server.script(Fault.status(429, { headers: { "retry-after": "3" } }))
      const fiber = yield* Effect.fork(get)
      assert.strictEqual(yield* awaitSleep((ms) => ms < 60_000), 3_000)
      yield* TestClock.adjust(2_999)
      assert.lengthOf(yield* server.requests, 1)
      yield* TestClock.adjust(1)
      assert.deepStrictEqual(yield* Fiber.join(fiber), { n: 1 })
      assert.lengthOf(yield* server.requests, 2)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("onRetry hears each failure that is retried before its wait, and not the last one", () =>
    Effect.gen(function*() {
      const { http, server } = yield* setup({ maxRetries: 1 })
      const heard: Array<string> = []
      const told = { ...info, onRetry: (e: { readonly _tag: string }) => Effect.sync(() => void heard.push(e._tag)) }
      const get = http.call(told, HttpClientRequest.get(`${server.url}/chat`), (res) =>
        decodeJson(Body, res.body, { provider: "toy", info: told, meta: res }))
      yield* server.script(Fault.status(429, { headers: { "retry-after": "3" } }), Fault.status(429, { headers: { "retry-after": "3" } }))
      const fiber = yield* Effect.fork(get)
      assert.strictEqual(yield* awaitSleep((ms) => ms < 60_000), 3_000)
      // told while the call waits, before its retry
      assert.deepStrictEqual(heard, ["RateLimited"])
      yield* TestClock.adjust(3_000)
      // the retry failed too and none is left: that failure goes to the caller, not to onRetry
      assert.strictEqual((yield* Effect.flip(Fiber.join(fiber)))._tag, "RateLimited")
      assert.deepStrictEqual(heard, ["RateLimited"])
      assert.lengthOf(yield* server.requests, 2)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("onRetry answering \"elsewhere\" ends the call with that failure at once: no wait, no retry", () =>
    Effect.gen(function*() {
      const { http, server } = yield* setup({ maxRetries: 2 })
      const told = { ...info, onRetry: () => Effect.succeed("elsewhere" as const) }
      const get = http.call(told, HttpClientRequest.get(`${server.url}/chat`), (res) =>
        decodeJson(Body, res.body, { provider: "toy", info: told, meta: res }))
      yield* server.script(Fault.status(429, { headers: { "retry-after": "3" } }))
      // Ends with the TestClock standing still: nothing waits out the hint.
      const error = yield* Effect.flip(get)
      assert.strictEqual(error._tag, "RateLimited")
      assert.deepStrictEqual(error.attempts?.map((a) => a.status), [429])
      assert.lengthOf(yield* server.requests, 1)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("a hint longer than maxRetryWaitMs returns the error at once", () =>
    Effect.gen(function*() {
      const { get, server } = yield* setup({ maxRetries: 5, maxRetryWaitMs: 10_000 })
      yield* server.script(Fault.status(429, { headers: { "retry-after": "30" } }))
      const error = yield* Effect.flip(get)
      assert.strictEqual(error._tag, "RateLimited")
      assert.strictEqual(error._tag === "RateLimited" ? error.retryAfterMs : -1, 30_000)
      assert.lengthOf(error.attempts ?? [], 1)
      assert.lengthOf(yield* server.requests, 1)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("retries exhausted: the final error carries every attempt", () =>
    Effect.gen(function*() {
      const { get, server } = yield* setup({ maxRetries: 2 })
      yield* server.persist(Fault.status(500))
      const fiber = yield* Effect.fork(get)
      for (let i = 0; i < 2; i++) {
        // The backoff, not a request's 60 s deadline: once the clock has moved, an earlier request's deadline
        // (still pending while the next request is in flight) is under 60 s away, so the cut is well below it.
        const wait = yield* awaitSleep((ms) => ms < 30_000)
        assert.isAtMost(wait, 8_000)
        yield* TestClock.adjust(wait)
      }
      const error = yield* Effect.flip(Fiber.join(fiber))
      assert.strictEqual(error._tag, "ServerError")
      assert.deepStrictEqual(error.attempts?.map((a) => [a.tag, a.status]), [["ServerError", 500], ["ServerError", 500], ["ServerError", 500]])
      assert.lengthOf(yield* server.requests, 3)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("non-retryable errors are not retried", () =>
    Effect.gen(function*() {
      const { get, server } = yield* setup({ maxRetries: 3 })
      yield* server.script(Fault.status(401))
      const error = yield* Effect.flip(get)
      assert.strictEqual(error._tag, "Unauthorized")
      assert.strictEqual(error._tag === "Unauthorized" ? error.keyId : undefined, "toy#1")
      assert.lengthOf(yield* server.requests, 1)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("no answer within timeoutMs is Timeout; a reset connection is Transport", () =>
    Effect.gen(function*() {
      const { get, server } = yield* setup({ maxRetries: 0, timeoutMs: 1_000 })
      yield* server.script(Fault.delay({ headersMs: 5_000 }), Fault.reset())
      const fiber = yield* Effect.fork(get)
      yield* TestClock.adjust(yield* awaitSleep((ms) => ms === 1_000))
      const timeout = yield* Effect.flip(Fiber.join(fiber))
      assert.strictEqual(timeout._tag, "Timeout")
      const transport = yield* Effect.flip(get)
      assert.strictEqual(transport._tag, "Transport")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("a refused connection is an unreachable Transport, not retried; a reset one is retried", () =>
    Effect.gen(function*() {
      const port = yield* unusedPort
      const { http, server } = yield* setup({ maxRetries: 2 })
      const refused = yield* Effect.flip(
        http.call(info, HttpClientRequest.get(`http://127.0.0.1:${port}/chat`), () => Effect.void)
      )
      assert.strictEqual(refused._tag, "Transport")
      assert.isTrue(refused._tag === "Transport" && refused.unreachable === true)
      assert.include(refused.message, "unreachable")
      assert.include(refused.message, "ECONNREFUSED")
      assert.deepStrictEqual(refused.attempts?.map((a) => a.tag), ["Transport"])
      yield* server.script(Fault.reset())
      const body = yield* http.call(info, HttpClientRequest.get(`${server.url}/chat`), (res) =>
        decodeJson(Body, res.body, { provider: "toy", info, meta: res }))
      assert.deepStrictEqual(body, { n: 1 })
      assert.lengthOf(yield* server.requests, 2)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("a call with no HTTP answer (refused, reset before the headers) is the endpoint's failure; an answered one is not", () =>
    Effect.gen(function*() {
      const port = yield* unusedPort
      const { http, server } = yield* setup({ maxRetries: 0 })
      const failureOf = (url: string) => Effect.flip(http.call(info, HttpClientRequest.get(url), () => Effect.void))
      const refused = yield* failureOf(`http://127.0.0.1:${port}/chat`)
      assert.strictEqual(endpointEvidence(refused), "down")
      yield* server.script(Fault.reset())
      const reset = yield* failureOf(`${server.url}/chat`)
      assert.deepStrictEqual([reset._tag, endpointEvidence(reset)], ["Transport", "down"])
      yield* server.script(Fault.status(500))
      const answered = yield* failureOf(`${server.url}/chat`)
      assert.deepStrictEqual([answered._tag, endpointEvidence(answered)], ["ServerError", undefined])
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("maxConcurrency bounds requests in flight", () =>
    Effect.gen(function*() {
      const { get, server } = yield* setup({ maxRetries: 0, maxConcurrency: 1 })
      // The fake holds every answer until the gate opens: the first request stays in flight as long as the test wants.
      const gate = yield* Effect.makeLatch(false)
      yield* server.persist(Fault.hold(gate))
      const first = yield* Effect.fork(get)
      const second = yield* Effect.fork(get)
      yield* server.awaitHeld(1)
      // While the first is held, the second must not reach the fake, however long we look; a short real-time
      // look gives a broken bound the chance to show (a correct one passes whatever the machine's load).
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 100)))
      assert.lengthOf(yield* server.requests, 1)
      assert.strictEqual(yield* server.held, 1)
      yield* gate.open
      yield* Fiber.join(first)
      yield* Fiber.join(second)
      assert.lengthOf(yield* server.requests, 2)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("a call that waited for a permit is not sent once stillWanted says its model was taken out; the permit goes back", () =>
    Effect.gen(function*() {
      const { http, server } = yield* setup({ maxRetries: 2, maxConcurrency: 1 })
      let wanted = true
      const waiting = { ...info, stillWanted: () => Effect.sync(() => wanted) }
      const get = http.call(waiting, HttpClientRequest.get(`${server.url}/chat`), (res) =>
        decodeJson(Body, res.body, { provider: "toy", info, meta: res }))
      const gate = yield* Effect.makeLatch(false)
      yield* server.script(Fault.hold(gate))
      const first = yield* Effect.fork(get)
      yield* server.awaitHeld(1)
      const second = yield* Effect.fork(get)
      // The model is taken out while the second call waits for the first one's permit.
      wanted = false
      yield* gate.open
      yield* Fiber.join(first)
      const refused = yield* Effect.flip(Fiber.join(second))
      assert.strictEqual(refused._tag, "Transport")
      assert.isTrue(refused._tag === "Transport" && refused.unreachable === true, "not retried, not charged")
      assert.isTrue(refused._tag === "Transport" && refused.notSent === true, "no failure of the model (health does not count it)")
      assert.include(refused.message, "not sent: model toy-model was marked unavailable")
      assert.lengthOf(yield* server.requests, 1, "the second call was not sent (nor retried)")
      // Its permit went back: the next call runs at once.
      wanted = true
      assert.deepStrictEqual(yield* get, { n: 1 })
      assert.lengthOf(yield* server.requests, 2)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("a stream interrupted while it waits for a permit tells onNotSent; one interrupted once sent does not", () =>
    Effect.gen(function*() {
      const { http, server } = yield* setup({ maxRetries: 0, maxConcurrency: 1 })
      const told: Array<string> = []
      const tellingAs = (name: string) => ({ ...info, onNotSent: () => Effect.sync(() => told.push(name)) })
      const open = (name: string) =>
        http.stream(tellingAs(name), HttpClientRequest.get(`${server.url}/stream`), (res) =>
          Effect.succeed(translateSse(res.body, echoEvents, (m) => new Error(m)))).pipe(Effect.flatMap(Stream.runDrain))
      const gate = yield* Effect.makeLatch(false)
      yield* server.script(Fault.hold(gate))
      const first = yield* Effect.fork(open("sent"))
      yield* server.awaitHeld(1)
      const queued = yield* Effect.fork(open("queued"))
      yield* Effect.repeatN(Effect.yieldNow(), 20)
      assert.isTrue(Exit.isInterrupted(yield* Fiber.interrupt(queued)))
      assert.deepStrictEqual(told, ["queued"], "the queued stream was never sent")
      assert.isTrue(Exit.isInterrupted(yield* Fiber.interrupt(first)))
      assert.deepStrictEqual(told, ["queued"], "the stream holding its permit was sent")
      assert.lengthOf(yield* server.requests, 1)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("a call waiting for a permit when the gateway starts closing fails at once unsent; a call with a free permit is still sent", () =>
    Effect.gen(function*() {
      const { http, server } = yield* setup({ maxRetries: 2, maxConcurrency: 1 })
      const closing = yield* Deferred.make<void>()
      const told: Array<string> = []
      const closable = (name: string) => ({ ...info, closing: Deferred.await(closing), onNotSent: () => Effect.sync(() => told.push(name)) })
      const get = (name: string) =>
        http.call(closable(name), HttpClientRequest.get(`${server.url}/chat`), (res) =>
          decodeJson(Body, res.body, { provider: "toy", info, meta: res }))
      const gate = yield* Effect.makeLatch(false)
      yield* server.script(Fault.hold(gate))
      const first = yield* Effect.fork(get("sent"))
      yield* server.awaitHeld(1)
      const waiting = yield* Effect.fork(get("waiting"))
      yield* Effect.repeatN(Effect.yieldNow(), 20)
      yield* Deferred.succeed(closing, undefined)
      // Ends while the first still holds the permit.
      const refused = yield* Effect.flip(Fiber.join(waiting))
      assert.isTrue(refused._tag === "Transport" && refused.notSent === true && refused.closing === true, "not sent, for the shutdown")
      assert.isTrue(refused._tag === "Transport" && refused.unreachable === true, "not retried")
      assert.include(refused.message, "not sent: the gateway is shutting down")
      assert.deepStrictEqual(told, ["waiting"])
      yield* gate.open
      assert.deepStrictEqual(yield* Fiber.join(first), { n: 1 })
      // The permit is free again: a call that needs no wait is sent, shutdown or not (it was accepted before).
      assert.deepStrictEqual(yield* get("after"), { n: 1 })
      assert.lengthOf(yield* server.requests, 2, "the waiting call was never sent")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("streams: SSE events translate; a broken body is StreamInterrupted", () =>
    Effect.gen(function*() {
      const { http, server } = yield* setup({ maxRetries: 0 })
      const events = (req: HttpClientRequest.HttpClientRequest) =>
        http.stream(info, req, (res) => Effect.succeed(translateSse(res.body, echoEvents, (m) => new Error(m)))).pipe(
          Effect.flatMap((s) => Stream.runCollect(s)),
          Effect.map((c) => Chunk.toReadonlyArray(c).map(contentOf))
        )
      assert.deepStrictEqual(yield* events(HttpClientRequest.get(`${server.url}/stream`)), ["a", "b", "end"])
      yield* server.script(Fault.reset(1))
      const error = yield* Effect.flip(events(HttpClientRequest.get(`${server.url}/stream`)))
      assert.strictEqual((error as { _tag: string })._tag, "StreamInterrupted")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.effect("SSE: events split at any byte translate the same; an event over the size cap fails the stream", () =>
    Effect.gen(function*() {
      const body = "event: x\ndata: é1\n\n: comment\n\ndata: 😀 2\r\ndata: more\r\n\r\ndata: cut"
      const whole = yield* collectContents(translateSse(bytesIn([body]), echoEvents, (m) => new Error(m)))
      assert.deepStrictEqual(whole, ["x:é1", "😀 2\nmore", "end"])
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 8 }), async (cuts) => {
            const split = await Effect.runPromise(collectContents(translateSse(bytesAt(body, cuts), echoEvents, (m) => new Error(m))))
            assert.deepStrictEqual(split, whole)
          }),
          { numRuns: 200 }
        )
      )
      // An event still pending past the cap (its end not yet received).
      const huge = `data: ${"x".repeat(1024 * 1024 + 1)}`
      const tooLarge = yield* collectContents(translateSse(bytesIn(["data: a\n\n", huge, "\n\ndata: b\n\n"]), echoEvents, () => new Error("too large")))
      assert.deepStrictEqual(tooLarge.map((c) => c.slice(0, 20)), ["a", "!too large"])
    }))

  it("SSE parser: for any text, split anywhere, the events @effect/experimental's parser finds with line ends made LF", () => {
    // The reference parser is right for LF line ends (its CR handling has quirks: a CR seen
    // earlier in the chunk can swallow a later LF), so it reads the text with CRLF and CR made LF.
    const piece = fc.constantFrom("data", "event", "id", "retry", ":", ": ", " ", "x", "é", "\u0000", "\n", "\r", "\r\n", "\n\n", "data: ", "event: e")
    const parse = (parts: ReadonlyArray<string>, make: "ours" | "reference") => {
      const events: Array<string> = []
      const onEvent = (e: Sse.Event) => events.push(JSON.stringify([e.event, e.data, e.id ?? null]))
      const feed = make === "ours"
        ? makeSseParser(onEvent).feed
        : Sse.makeParser((e) => e._tag === "Event" ? onEvent(e) : undefined).feed
      for (const part of parts) feed(part)
      return events
    }
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), fc.array(fc.nat(), { maxLength: 6 }), (pieces, cuts) => {
        const text = pieces.join("")
        const expected = parse([text.replace(/\r\n?/g, "\n")], "reference")
        const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b)
        const parts = [...at, text.length].map((end, i) => text.slice(i === 0 ? 0 : at[i - 1], end))
        assert.deepStrictEqual(parse(parts, "ours"), expected)
      }),
      { numRuns: 2000 }
    )
  })

  it.effect("NDJSON: lines split at any byte translate the same; a truncated last line is kept; it ends at the terminal line", () =>
    Effect.gen(function*() {
      const body = "{\"a\":\"é\"}\r\n\n  \n{\"b\":2}\n{\"c\""
      const whole = yield* collectContents(translateNdjson(bytesIn([body]), echoLines))
      assert.deepStrictEqual(whole, ["{\"a\":\"é\"}", "{\"b\":2}", "{\"c\"", "!StreamInterrupted"])
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 8 }), async (cuts) => {
            const split = await Effect.runPromise(collectContents(translateNdjson(bytesAt(body, cuts), echoLines)))
            assert.deepStrictEqual(split, whole)
          }),
          { numRuns: 200 }
        )
      )
      const ended = yield* collectContents(translateNdjson(bytesIn(["x\ndone\ny\n", "z"]), echoLines))
      assert.deepStrictEqual(ended, ["x", "done"])
      const lastLineDone = yield* collectContents(translateNdjson(bytesIn(["x\ndone"]), echoLines))
      assert.deepStrictEqual(lastLineDone, ["x", "done"])
    }))
})

const chunkOf = (content: string): ChatChunk => ({
  id: "toy",
  object: "chat.completion.chunk",
  created: 0,
  model: "toy-model",
  choices: [{ index: 0, delta: { content }, finish_reason: null }]
})
const contentOf = (chunk: ChatChunk) => chunk.choices[0]?.delta.content ?? ""

/** An SSE translator that echoes each event (`name:` before named ones) and ends with "end". */
const echoEvents = () => ({
  push: (event: { readonly event: string; readonly data: string }) =>
    Either.right([chunkOf(event.event === "" || event.event === "message" ? event.data : `${event.event}:${event.data}`)]),
  end: () => Either.right([chunkOf("end")])
})

/** An NDJSON translator that echoes each line and stops after a `done` line. */
const echoLines = (): LineTranslator => {
  let done = false
  return {
    push: (line) => {
      done = line === "done"
      return Either.right([chunkOf(line)])
    },
    done: () => done,
    interrupted: () => new StreamInterrupted({ provider: "toy", model: "toy-model", detail: "no done line" })
  }
}

/** A body of these network chunks. */
const bytesIn = (parts: ReadonlyArray<string>) => Stream.fromIterable(parts.map((part) => new TextEncoder().encode(part)))

/** A body's bytes cut at these offsets (multi-byte characters may be split). */
const bytesAt = (text: string, cuts: ReadonlyArray<number>) => {
  const bytes = new TextEncoder().encode(text)
  const at = [...new Set(cuts.map((c) => Math.min(c, bytes.length)))].sort((a, b) => a - b)
  const parts = [0, ...at, bytes.length].slice(1).map((end, i, ends) => bytes.slice(i === 0 ? 0 : ends[i - 1], end))
  return Stream.fromChunks(...parts.map((part) => Chunk.of(part)))
}

/** The contents a stream emits, then `!<tag>` of the error that ends it (if any). */
const collectContents = <E extends { readonly _tag?: string; readonly message: string }>(stream: Stream.Stream<ChatChunk, E>) =>
  Effect.map(Stream.runCollect(Stream.either(stream)), (c) =>
    Chunk.toReadonlyArray(c).map((e) => Either.match(e, { onLeft: (error) => `!${error._tag ?? error.message.slice(0, 20)}`, onRight: contentOf })))
