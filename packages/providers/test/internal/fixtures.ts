/**
 * Shared fixtures of the adapter tests: a model, a key, a request, an error
 * context, and the helpers that run an adapter against a testkit fake over a
 * real socket and read what came back.
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Headers } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { assert } from "@effect/vitest"
import { ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import type { CallContext, ChatResult, Provider, ProviderKey } from "@modelgate/core/Provider"
import type { ChatChunk, ChatRequest, ToolCall } from "@modelgate/domain/Chat"
import type { ModelMetadata } from "@modelgate/domain/Model"
import type { ProviderError } from "@modelgate/domain/ProviderError"
import { awaitSleep, type FakeServer, type Fault, type RecordedRequest } from "@modelgate/testkit/FakeServer"
import { Chunk, Effect, Fiber, Redacted, type Scope, Stream, TestClock, Tracer } from "effect"
import * as net from "node:net"
import type { ErrorContext } from "../../src/internal/errors.js"

/** A model whose gateway id differs from the provider's model name. */
export { modelOf } from "@modelgate/testkit/TestModel"

/** A key with id `<provider>#1`. */
/** A loopback port nothing listens on: taken from the system, then freed. */
export const unusedPort: Effect.Effect<number> = Effect.promise(() =>
  new Promise<number>((resolve) => {
    const probe = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo
      probe.close(() => resolve(port))
    })
  })
)

export const keyOf = (provider: string, value: string): ProviderKey => ({ id: `${provider}#1`, value: Redacted.make(value) })

/** A tool loop's next history: the question, the assistant's call and the tool's `result` for it. */
export const answeredCall = (question: string, call: ToolCall, result: string): ChatRequest["messages"] => [
  { role: "user", content: question },
  { role: "assistant", content: null, tool_calls: [call] },
  { role: "tool", tool_call_id: call.id, content: result }
]

/** A call context for a request. */
export const ctxOf = (model: ModelMetadata, key: ProviderKey | undefined, request: Partial<ChatRequest> = {}): CallContext => ({
  model,
  key,
  request: { model: model.id, messages: [{ role: "user", content: "hello there" }], ...request }
})

/** The error context a classifier sees for a non-2xx answer (no request id or rate limit). */
export const errorContextOf = (
  provider: string,
  info: ErrorContext["info"],
  status: number,
  body: string,
  options: { readonly headers?: Record<string, string>; readonly excerpt?: string; readonly nowMs?: number } = {}
): ErrorContext => ({
  status,
  headers: options.headers === undefined ? Headers.empty : Headers.fromInput(options.headers),
  requestId: undefined,
  rateLimit: undefined,
  provider,
  info,
  body,
  excerpt: options.excerpt ?? body.slice(0, 300),
  nowMs: options.nowMs ?? 0
})

/** Run a test effect with the real (undici) HTTP client. */
export const live = <A, E>(effect: Effect.Effect<A, E, HttpClient.HttpClient | Scope.Scope>) =>
  effect.pipe(Effect.provide(NodeHttpClient.layerUndici))

/** A provider config patch for one test. */
export type ConfigPatch = Partial<ConstructorParameters<typeof ProviderConfig>[0]>

/**
 * A `setup(config, options)` for one adapter: start its fake with `options`,
 * then the adapter with `baseUrl` at the fake, no retries unless `config` says so.
 */
export const adapterOver = <F extends FakeServer, O>(
  makeFake: (options?: O) => Effect.Effect<F, never, Scope.Scope>,
  makeAdapter: (getConfig: Effect.Effect<ProviderConfig>) => Effect.Effect<Provider, never, HttpClient.HttpClient | Scope.Scope>,
  baseUrlOf: (fake: F) => string = (fake) => fake.url
) =>
(config: ConfigPatch = {}, options?: O) =>
  Effect.gen(function*() {
    const fake = yield* makeFake(options)
    const provider = yield* makeAdapter(Effect.succeed(ProviderConfig.make({ baseUrl: baseUrlOf(fake), maxRetries: 0, ...config })))
    return { fake, provider }
  })

/** The last request a fake received. */
export const lastRequest = (fake: FakeServer): Effect.Effect<RecordedRequest> => Effect.map(fake.requests, (rs) => rs[rs.length - 1]!)

/** The JSON body of the last request a fake received. */
export const lastJson = (fake: FakeServer) => Effect.map(fake.requests, (rs) => rs[rs.length - 1]?.json as Record<string, unknown>)

/** Every chunk of a stream. */
export const collect = (stream: Stream.Stream<ChatChunk, ProviderError>) => Effect.map(Stream.runCollect(stream), Chunk.toReadonlyArray)

/**
 * The tag of the error an effect fails with, or "succeeded" (an assertion
 * failure that names it: `Effect.flip` failed the test with the whole value,
 * which vitest's reporter chews on for minutes when it is a long stream).
 */
export const tagOf = <A, R>(effect: Effect.Effect<A, ProviderError, R>) =>
  Effect.map(Effect.either(effect), (result) => (result._tag === "Left" ? result.left._tag : "succeeded"))

/** The text of the first choice's deltas. */
export const textOf = (chunks: ReadonlyArray<ChatChunk>) => chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")

/** `tag status` of every failed attempt an error carries. */
export const attemptsOf = (error: ProviderError) => error.attempts?.map((a) => `${a.tag} ${a.status}`)

/** POST a JSON body straight to a fake (no adapter): its status and JSON answer. */
export const postJson = <J>(url: string, headers: Record<string, string>, body: unknown) =>
  Effect.flatMap(HttpClient.HttpClient, (client) =>
    client.execute(HttpClientRequest.post(url).pipe(HttpClientRequest.setHeaders(headers), HttpClientRequest.bodyUnsafeJson(body))).pipe(
      Effect.flatMap((r) => Effect.map(r.json, (json) => ({ status: r.status, json: json as J })))
    ))

/** Script each fault in turn and assert the error tag `call` then fails with. */
export const assertFaultTags = <A>(
  fake: FakeServer,
  call: () => Effect.Effect<A, ProviderError>,
  cases: ReadonlyArray<readonly [Fault, string]>
) =>
  Effect.gen(function*() {
    for (const [fault, tag] of cases) {
      yield* fake.script(fault)
      assert.strictEqual(yield* tagOf(call()), tag, JSON.stringify(fault))
    }
  })

/** Fork `call` and move `TestClock` past the sleep of `timeoutMs` (accepting that offset only): the error tag. */
export const tagAfterTimeout = <A>(call: Effect.Effect<A, ProviderError>, timeoutMs: number) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(call)
    yield* TestClock.adjust(yield* awaitSleep((ms) => ms === timeoutMs))
    return yield* tagOf(Fiber.join(fiber))
  })

/**
 * Fork `call` (its first answer scripted to ask for a wait) and assert it
 * sleeps exactly `expectedMs`: no second request a millisecond before, one
 * right at it, and the retried call ends normally.
 */
export const assertRetryWaits = (fake: FakeServer, call: Effect.Effect<ChatResult, ProviderError>, expectedMs: number) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(call)
    assert.strictEqual(yield* awaitSleep((ms) => ms <= 10_000), expectedMs)
    yield* TestClock.adjust(expectedMs - 1)
    assert.lengthOf(yield* fake.requests, 1)
    yield* TestClock.adjust(1)
    const result = yield* Fiber.join(fiber)
    assert.strictEqual(result.response.choices[0].finish_reason, "stop")
    assert.lengthOf(yield* fake.requests, 2)
  })

/** Fork `call`, move `TestClock` through `retries` backoff sleeps (those `accept` picks): the final error. */
export const errorAfterRetries = <A>(call: Effect.Effect<A, ProviderError>, retries: number, accept: (ms: number) => boolean) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(call)
    for (let i = 0; i < retries; i++) yield* TestClock.adjust(yield* awaitSleep(accept))
    return yield* Effect.flip(Fiber.join(fiber))
  })

/**
 * With the fake's own limit at one request a minute, a second call is
 * RateLimited with a hint over `maxRetryWaitMs` and comes back without a
 * retry: the error, for provider-specific checks.
 */
export const ownRateLimitError = (fake: FakeServer, call: () => Effect.Effect<ChatResult, ProviderError>, maxRetryWaitMs: number) =>
  Effect.gen(function*() {
    yield* fake.setRateLimit({ rpm: 1 })
    yield* call()
    const error = yield* Effect.flip(call())
    assert.strictEqual(error._tag, "RateLimited")
    assert.isAbove(error._tag === "RateLimited" ? error.retryAfterMs ?? 0 : 0, maxRetryWaitMs)
    assert.lengthOf(yield* fake.requests, 2)
    return error
  })

/** Run `effect` with a tracer that records every span: its result and the attributes of all spans. */
export const withSpanCapture = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const spans: Array<Tracer.Span> = []
    const base = yield* Effect.tracer
    const capturing = Tracer.make({
      context: base.context,
      span: (...args) => {
        const span = base.span(...args)
        spans.push(span)
        return span
      }
    })
    const result = yield* effect.pipe(Effect.withTracer(capturing))
    return { result, attributes: spans.flatMap((span) => [...span.attributes.entries()]) }
  })
