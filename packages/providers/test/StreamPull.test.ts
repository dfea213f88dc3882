/**
 * The adapters' streams as bare pulls (`StreamResult.open`, the form the
 * gateway reads): they deliver what the `Stream` form delivers (chunks, the
 * end, the error), and closing one ends what it holds: an interrupted pull
 * then `close` closes the connection, `close` is idempotent and gives the
 * concurrency permit back once, and the deadline bounds a gap between pulls
 * (TestClock).
 */
import { HttpClientRequest } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import type { Provider, ProviderPull, StreamResult } from "@modelgate/core/Provider"
import type { ChatChunk } from "@modelgate/domain/Chat"
import { MalformedResponse, type ProviderError, StreamInterrupted } from "@modelgate/domain/ProviderError"
import * as FakeAnthropic from "@modelgate/testkit/FakeAnthropic"
import * as FakeGoogle from "@modelgate/testkit/FakeGoogle"
import * as FakeOllama from "@modelgate/testkit/FakeOllama"
import * as FakeOpenAi from "@modelgate/testkit/FakeOpenAi"
import { awaitSleep, Fault, type FakeServer } from "@modelgate/testkit/FakeServer"
import * as LoopbackServer from "@modelgate/testkit/LoopbackServer"
import { Chunk, Effect, Either, Exit, Fiber, Option, Stream, TestClock } from "effect"
import * as fc from "fast-check"
import * as Anthropic from "../src/Anthropic.js"
import * as Google from "../src/Google.js"
import { genericError, makeProviderHttp, pullSse, toStream, translateSse } from "../src/internal/index.js"
import type { Pull } from "../src/internal/pull.js"
import type { ChunkTranslator } from "../src/internal/sse.js"
import * as Ollama from "../src/Ollama.js"
import * as OpenAi from "../src/OpenAi.js"
import { adapterOver, ctxOf, keyOf, live, modelOf } from "./internal/fixtures.js"

/** What a stream delivered: its chunks' text and finish reasons, its usage, how it ended. */
interface Outcome {
  readonly text: string
  readonly finishes: ReadonlyArray<string>
  readonly usage: number | undefined
  readonly end: string
}

const outcomeOf = (chunks: ReadonlyArray<ChatChunk>, end: string): Outcome => ({
  text: chunks.map((c) => c.choices.map((ch) => `${ch.delta.content ?? ""}${(ch.delta.tool_calls ?? []).map((t) => t.function?.arguments ?? "").join("")}`).join("")).join(""),
  finishes: chunks.flatMap((c) => c.choices.flatMap((ch) => (ch.finish_reason === null ? [] : [ch.finish_reason]))),
  usage: chunks[chunks.length - 1]?.usage?.total_tokens,
  end
})

/** Drain a bare pull in this fiber, then close it (twice: idempotent). */
const drainPull = (opened: Pull<ChatChunk, { readonly _tag: string }> | ProviderPull) =>
  Effect.gen(function*() {
    const chunks: Array<ChatChunk> = []
    let end = "end"
    for (;;) {
      const next = yield* Effect.either(opened.pull)
      if (Either.isRight(next)) {
        chunks.push(...next.right)
        continue
      }
      if (Option.isSome(next.left)) end = next.left.value._tag
      break
    }
    yield* opened.close
    yield* opened.close
    return outcomeOf(chunks, end)
  })

/** Drain a `Stream`, keeping what it delivered before it failed. */
const drainStream = <E extends { readonly _tag: string }>(stream: Stream.Stream<ChatChunk, E>) =>
  Effect.suspend(() => {
    const chunks: Array<ChatChunk> = []
    return Effect.map(
      Effect.either(Stream.runForEach(stream, (chunk) => Effect.sync(() => chunks.push(chunk)))),
      (result) => outcomeOf(chunks, Either.isRight(result) ? "end" : result.left._tag)
    )
  })

/** The outcome of one streamed call read through `open` and of the same call read through `chunks`. */
const bothForms = (fake: FakeServer, provider: Provider, call: () => Effect.Effect<StreamResult, ProviderError>, fault?: Fault) =>
  Effect.gen(function*() {
    if (fault !== undefined) yield* fake.script(fault)
    const viaOpen = yield* Effect.flatMap(call(), (result) => {
      assert.isDefined(result.open, `${provider.id} offers a bare pull`)
      return drainPull(result.open!())
    })
    if (fault !== undefined) yield* fake.script(fault)
    const viaStream = yield* Effect.flatMap(call(), (result) => drainStream(result.chunks))
    return { viaOpen, viaStream }
  })

const adapters = [
  {
    name: "openai",
    setup: adapterOver(FakeOpenAi.make, OpenAi.make, (fake) => fake.baseUrl),
    model: modelOf("openai", "gpt-4o-mini", "fast-chat"),
    key: keyOf("openai", "sk-test-openai"),
    resetAfter: 2
  },
  {
    name: "anthropic",
    setup: adapterOver(FakeAnthropic.make, Anthropic.make),
    model: modelOf("anthropic", "claude-fake-1", "claude-test"),
    key: keyOf("anthropic", FakeAnthropic.defaultApiKey),
    // message_start, ping and content_block_start carry no text
    resetAfter: 4
  },
  {
    name: "google",
    setup: adapterOver(FakeGoogle.make, Google.make),
    model: modelOf("google", "gemini-fake", "gemini-test"),
    key: keyOf("google", FakeGoogle.defaultApiKey),
    resetAfter: 2
  },
  { name: "ollama", setup: adapterOver(FakeOllama.make, Ollama.make), model: modelOf("ollama", "llama3.2", "local-chat"), key: undefined, resetAfter: 2 }
] as const

describe("adapter streams as bare pulls", () => {
  for (const adapter of adapters) {
    it.scoped(`${adapter.name}: the pull delivers what the Stream delivers: an answer, a cut, a reset after some text`, () =>
      live(Effect.gen(function*() {
        const { fake, provider } = yield* adapter.setup()
        const call = () => provider.stream(ctxOf(adapter.model, adapter.key, { messages: [{ role: "user", content: "one two three four" }] }))
        const whole = yield* bothForms(fake, provider, call)
        assert.deepStrictEqual(whole.viaOpen, whole.viaStream)
        assert.strictEqual(whole.viaOpen.end, "end")
        assert.isAbove(whole.viaOpen.text.length, 0)
        assert.isDefined(whole.viaOpen.usage)
        for (const fault of [Fault.cut(), Fault.reset(adapter.resetAfter)]) {
          const broken = yield* bothForms(fake, provider, call, fault)
          assert.deepStrictEqual(broken.viaOpen, broken.viaStream, JSON.stringify(fault))
          assert.strictEqual(broken.viaOpen.end, "StreamInterrupted", JSON.stringify(fault))
          if (fault._tag === "Reset") {
            // the text that came before the reset is delivered before the error, and only that
            assert.isAbove(broken.viaOpen.text.length, 0)
            assert.isBelow(broken.viaOpen.text.length, whole.viaOpen.text.length)
            assert.isTrue(whole.viaOpen.text.startsWith(broken.viaOpen.text), broken.viaOpen.text)
          }
        }
      })))
  }
})

/** A translator that gives one chunk per event (its data as content) and ends at `data: end`. */
const echoEvents = (): ChunkTranslator => {
  let ended = false
  const chunk = (content: string): ChatChunk => ({
    id: "c",
    object: "chat.completion.chunk",
    created: 0,
    model: "m",
    choices: [{ index: 0, delta: { content }, finish_reason: null }]
  })
  return {
    push: (event) => {
      if (event.data === "end") ended = true
      if (event.data === "bad") return Either.left(malformed("bad event"))
      return Either.right([chunk(event.data)])
    },
    end: () => (ended ? Either.right([]) : Either.left(broke("cut")))
  }
}

const broke = (detail: string): ProviderError => new StreamInterrupted({ provider: "toy", model: "toy", detail })
const malformed = (detail: string): ProviderError => new MalformedResponse({ provider: "toy", model: "toy", detail })

/** A body pull over `pieces`, failing after `failAt` pieces when set; `closed` tells whether it was closed. */
const bodyOf = (pieces: ReadonlyArray<string>, failAt: number | undefined) => {
  let i = 0
  const state = { closed: false }
  const encoder = new TextEncoder()
  const body: Pull<Uint8Array, ProviderError> = {
    pull: Effect.suspend(() => {
      if (state.closed) return Effect.die("pulled after close")
      if (failAt !== undefined && i === failAt) return Effect.fail(Option.some(broke("body broke")))
      if (i >= pieces.length) return Effect.fail(Option.none())
      return Effect.succeed(Chunk.of(encoder.encode(pieces[i++]!)))
    }),
    close: Effect.sync(() => {
      state.closed = true
    })
  }
  return { body, state }
}

describe("pullSse and its derived Stream", () => {
  it.effect("property: the same chunks and the same end or error, however the body is cut", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(
          fc.array(fc.constantFrom("a", "b", "bad", "end", "x y"), { maxLength: 6 }),
          fc.array(fc.integer({ min: 1, max: 12 }), { maxLength: 6 }),
          fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined }),
          async (events, cuts, failAt) => {
            const text = events.map((e) => `data: ${e}\n\n`).join("")
            const pieces: Array<string> = []
            let at = 0
            for (const cut of cuts) {
              if (at >= text.length) break
              pieces.push(text.slice(at, at + cut))
              at += cut
            }
            if (at < text.length) pieces.push(text.slice(at))
            const forPull = bodyOf(pieces, failAt)
            const viaPull = await Effect.runPromise(drainPull(pullSse(forPull.body, echoEvents(), () => malformed("too large"))))
            const forStream = bodyOf(pieces, failAt)
            const viaStream = await Effect.runPromise(
              drainStream(toStream(() => pullSse(forStream.body, echoEvents(), () => malformed("too large"))))
            )
            assert.deepStrictEqual(viaPull, viaStream)
            assert.isTrue(forPull.state.closed && forStream.state.closed)
            // And the body given as a Stream (`translateSse`) reads the same.
            const bytes = Stream.fromIterable(pieces.map((p) => new TextEncoder().encode(p)))
            if (failAt === undefined) {
              const viaBodyStream = await Effect.runPromise(drainStream(translateSse(bytes, echoEvents, () => malformed("too large"))))
              assert.deepStrictEqual(viaBodyStream, viaPull)
            }
          }
        ),
        { numRuns: 150 }
      )
    ))
})

const info = { model: "toy-model", keyId: "toy#1", secrets: [] }

/** `/body`: headers and one chunk, then nothing. */
const loopback = LoopbackServer.make(({ path }, res) => {
  if (path === "/body") {
    res.writeHead(200, { "content-type": "text/plain" })
    res.write("first")
  }
})

const setupHttp = (maxConcurrency: number) =>
  Effect.gen(function*() {
    const server = yield* loopback
    const http = yield* makeProviderHttp({
      provider: "toy",
      getConfig: Effect.succeed(ProviderConfig.make({ baseUrl: server.url, maxRetries: 0, timeoutMs: 1_000, maxConcurrency })),
      requestId: () => undefined,
      rateLimit: () => undefined,
      classify: (ctx) => genericError(ctx, ctx.excerpt, undefined)
    })
    const open = Effect.map(http.stream(info, HttpClientRequest.get(`${server.url}/body`), Effect.succeed), (res) => res.open())
    return { server, open }
  })

const decoded = (batch: Chunk.Chunk<Uint8Array>) => Chunk.toReadonlyArray(batch).map((b) => new TextDecoder().decode(b)).join("")

describe("a body's bare pull ends what it holds", () => {
  it.scoped("interrupting a pull mid-body, then close, closes the connection; close is idempotent and gives the permit back once", () =>
    Effect.gen(function*() {
      const { open, server } = yield* setupHttp(1)
      const body = yield* open
      assert.strictEqual(decoded(yield* body.pull), "first")
      const waiting = yield* Effect.fork(body.pull)
      assert.isTrue(Exit.isInterrupted(yield* Fiber.interrupt(waiting)))
      yield* body.close
      yield* body.close
      assert.strictEqual(yield* server.closed(1), "closed")
      // One permit (maxConcurrency 1), given back once: a second stream opens, a third waits until it is closed.
      const second = yield* open
      assert.strictEqual(decoded(yield* second.pull), "first")
      const third = yield* Effect.fork(open)
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 100)))
      assert.lengthOf(server.requests, 2)
      yield* second.close
      const opened = yield* Fiber.join(third)
      assert.strictEqual(decoded(yield* opened.pull), "first")
      assert.lengthOf(server.requests, 3)
      yield* opened.close
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("a gap between pulls longer than timeoutMs (TestClock) fails the pull with Timeout and closes the connection", () =>
    Effect.gen(function*() {
      const { open, server } = yield* setupHttp(4)
      const body = yield* open
      assert.strictEqual(decoded(yield* body.pull), "first")
      const waiting = yield* Effect.fork(Effect.flip(body.pull))
      yield* TestClock.adjust(yield* awaitSleep((ms) => ms === 1_000))
      const error = yield* Fiber.join(waiting)
      assert.strictEqual(Option.map(error, (e) => e._tag).pipe(Option.getOrUndefined), "Timeout")
      yield* body.close
      assert.strictEqual(yield* server.closed(1), "closed")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})
