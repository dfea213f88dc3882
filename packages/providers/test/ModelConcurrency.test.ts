/**
 * A model's `rateLimits.concurrency` bounds its calls in flight at the
 * provider, beside the provider's `maxConcurrency`: calls over the cap wait
 * (FIFO) and are all answered; another model of the provider is not held up
 * by the cap; a stream holds its model permit until it ends, is closed or is
 * interrupted; an interrupted waiter takes no permit.
 */
import { HttpClientRequest } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import { ModelMetadata, RateLimits } from "@modelgate/domain/Model"
import * as FakeOllama from "@modelgate/testkit/FakeOllama"
import { Fault, type FakeServer } from "@modelgate/testkit/FakeServer"
import * as LoopbackServer from "@modelgate/testkit/LoopbackServer"
import { Chunk, Clock, Effect, Fiber, Schedule, Stream } from "effect"
import { genericError, makeProviderHttp } from "../src/internal/index.js"
import * as Ollama from "../src/Ollama.js"
import { adapterOver, ctxOf, live, modelOf } from "./internal/fixtures.js"

const adapterSetup = adapterOver(FakeOllama.make, Ollama.make)

/** The Ollama adapter over a fake that has the models "capped" and "free". */
const setup = (config: Parameters<typeof adapterSetup>[0] = {}) => adapterSetup(config, { models: ["capped", "free"] })

/** An Ollama model `id` (named `id` there too), capped at `concurrency` calls in flight when given. */
const ollamaModel = (id: string, concurrency?: number) =>
  ModelMetadata.make({ ...modelOf("ollama", id, id), rateLimits: RateLimits.make({ rpm: 500, tpm: 200_000, concurrency }) })

/**
 * A short real-time look: long enough for a broken bound to let a call through
 * to the fake; a correct bound passes whatever the machine's load.
 */
const look = Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 100)))

/**
 * Wait (real time, as `awaitHeld`) until the fake has received `count`
 * requests: right after a gate opens, `held` still counts the request it
 * lets go, so only the next request's arrival says the permit moved on.
 */
const awaitRequests = (fake: FakeServer, count: number) =>
  Effect.repeat(fake.requests, { until: (rs) => rs.length >= count, schedule: Schedule.spaced(2) }).pipe(
    Effect.timeoutFail({ duration: 10_000, onTimeout: () => new Error(`the fake did not receive ${count} requests in 10 s`) }),
    Effect.orDie,
    Effect.withClock(Clock.make())
  )

const sentModels = (fake: FakeServer) => Effect.map(fake.requests, (rs) => rs.map((r) => (r.json as { model: string }).model))

/** `first` is held at the fake while `waiter` waits for a slot; `waiter` is interrupted, then `first` answered. */
const interruptWhileHeld = <A, E>(fake: FakeServer, first: Effect.Effect<A, E>, waiter: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const gate = yield* Effect.makeLatch(false)
    yield* fake.persist(Fault.hold(gate))
    const held = yield* Effect.fork(first)
    yield* fake.awaitHeld(1)
    const waiting = yield* Effect.fork(waiter)
    yield* look
    yield* Fiber.interrupt(waiting)
    yield* gate.open
    yield* Fiber.join(held)
  })

/** How many of `calls`, run together, the fake holds at once (at least one must arrive); then all are answered. */
const inFlightOf = <A, E>(fake: FakeServer, calls: ReadonlyArray<Effect.Effect<A, E>>) =>
  Effect.gen(function*() {
    const gate = yield* Effect.makeLatch(false)
    yield* fake.persist(Fault.hold(gate))
    const running = yield* Effect.fork(Effect.all(calls, { concurrency: "unbounded" }))
    yield* fake.awaitHeld(1)
    yield* look
    const held = yield* fake.held
    yield* gate.open
    yield* Fiber.join(running)
    return held
  })

describe("a model's rateLimits.concurrency", () => {
  it.scoped("concurrency 2: of 5 concurrent calls at most 2 are at the provider at any time, and all 5 are answered", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup()
      const capped = ollamaModel("capped", 2)
      // One gate per request, in arrival order: the test lets answers go one at a time.
      const gates = yield* Effect.all(Array.from({ length: 5 }, () => Effect.makeLatch(false)))
      yield* fake.script(...gates.map((gate) => Fault.hold(gate)))
      const calls = yield* Effect.fork(
        Effect.all(Array.from({ length: 5 }, () => provider.chat(ctxOf(capped, undefined))), { concurrency: "unbounded" })
      )
      for (let answered = 0; answered < 5; answered++) {
        const inFlight = Math.min(2, 5 - answered)
        yield* awaitRequests(fake, answered + inFlight)
        yield* fake.awaitHeld(inFlight)
        yield* look
        assert.strictEqual(yield* fake.held, inFlight, `in flight after ${answered} answers`)
        assert.lengthOf(yield* fake.requests, answered + inFlight)
        yield* gates[answered]!.open
      }
      const results = yield* Fiber.join(calls)
      assert.lengthOf(results, 5)
      for (const result of results) assert.strictEqual(result.response.choices[0].finish_reason, "stop")
    })))

  it.scoped("another model of the provider is held up only by maxConcurrency, not by the capped model's waiting calls", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup({ maxConcurrency: 3 })
      const gate = yield* Effect.makeLatch(false)
      yield* fake.persist(Fault.hold(gate))
      const capped = yield* Effect.fork(
        Effect.all(Array.from({ length: 3 }, () => provider.chat(ctxOf(ollamaModel("capped", 1), undefined))), { concurrency: "unbounded" })
      )
      yield* fake.awaitHeld(1)
      const free = yield* Effect.fork(
        Effect.all(Array.from({ length: 3 }, () => provider.chat(ctxOf(ollamaModel("free"), undefined))), { concurrency: "unbounded" })
      )
      yield* fake.awaitHeld(3)
      yield* look
      // One capped call and two free ones fill the provider's 3 slots; the third free call waits for one.
      assert.strictEqual(yield* fake.held, 3)
      assert.deepStrictEqual([...(yield* sentModels(fake))].sort(), ["capped", "free", "free"])
      yield* gate.open
      assert.lengthOf(yield* Fiber.join(capped), 3)
      assert.lengthOf(yield* Fiber.join(free), 3)
      assert.lengthOf(yield* fake.requests, 6)
    })))

  it.scoped("an interrupted waiter takes no permit: the cap is still exactly the model's afterwards", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup()
      const chat = provider.chat(ctxOf(ollamaModel("capped", 1), undefined))
      yield* interruptWhileHeld(fake, chat, chat)
      assert.lengthOf(yield* fake.requests, 1)
      // Neither a permit lost (the next call would wait forever) nor one too many (two would get in).
      assert.strictEqual(yield* inFlightOf(fake, [chat, chat]), 1)
      assert.lengthOf(yield* fake.requests, 3)
    })))

  it.scoped("a call interrupted while waiting for the provider's slot gives its model permit back", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup({ maxConcurrency: 1 })
      const capped = provider.chat(ctxOf(ollamaModel("capped", 1), undefined))
      // The capped call takes its model's permit, then waits for the provider's only slot.
      yield* interruptWhileHeld(fake, provider.chat(ctxOf(ollamaModel("free"), undefined)), capped)
      // Had the interrupted call kept the model's permit, this one would never reach the fake.
      assert.strictEqual(yield* inFlightOf(fake, [capped]), 1)
      assert.deepStrictEqual(yield* sentModels(fake), ["free", "capped"])
    })))
})

/** `/open`: headers and one chunk, then nothing; `/whole`: one chunk and the end. */
const loopback = LoopbackServer.make(({ path }, res) => {
  res.writeHead(200, { "content-type": "text/plain" })
  res.write("first")
  if (path === "/whole") res.end()
})

const streamSetup = Effect.gen(function*() {
  const server = yield* loopback
  const http = yield* makeProviderHttp({
    provider: "toy",
    getConfig: Effect.succeed(ProviderConfig.make({ baseUrl: server.url, maxRetries: 0, timeoutMs: 60_000, maxConcurrency: 4 })),
    requestId: () => undefined,
    rateLimit: () => undefined,
    classify: (ctx) => genericError(ctx, ctx.excerpt, undefined)
  })
  const info = { model: "capped", keyId: undefined, secrets: [], concurrency: 1 }
  const bodyOf = (path: string) => http.stream(info, HttpClientRequest.get(`${server.url}${path}`), (res) => Effect.succeed(res))
  return { server, bodyOf }
})

describe("a capped model's stream", () => {
  it.scoped("holds its permit until it ends, is closed or is interrupted", () =>
    live(Effect.gen(function*() {
      const { bodyOf, server } = yield* streamSetup
      // Read to its end: the permit is back, the next stream opens at once.
      const whole = yield* bodyOf("/whole")
      assert.strictEqual(Chunk.size(yield* Stream.runCollect(whole.body)), 1)
      // Open and unread: a second stream waits until the first is closed (abandoned).
      const first = (yield* bodyOf("/open")).open()
      yield* first.pull
      const second = yield* Effect.fork(bodyOf("/open"))
      yield* look
      assert.lengthOf(server.requests, 2)
      yield* first.close
      const opened = yield* Fiber.join(second)
      assert.lengthOf(server.requests, 3)
      // A fiber reading the stream is interrupted: the permit goes to the stream waiting for it.
      const reader = yield* Effect.fork(Stream.runDrain(opened.body))
      const third = yield* Effect.fork(bodyOf("/open"))
      yield* look
      assert.lengthOf(server.requests, 3)
      yield* Fiber.interrupt(reader)
      const last = (yield* Fiber.join(third)).open()
      assert.lengthOf(server.requests, 4)
      yield* last.close
    })))
})
