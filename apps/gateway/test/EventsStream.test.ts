/**
 * `GET /v1/events` as an operator leaves it open: a comment at once and every
 * 15 s while nothing happens, so proxies that cut idle streams keep it; the
 * stream ends when the server starts closing; a client that goes away
 * releases its subscription to the bus.
 */
import { NodeHttpServer } from "@effect/platform-node"
import { assert, describe, it, layer } from "@effect/vitest"
import { Events, feedOf } from "@modelgate/core/Events"
import { HealthChanged } from "@modelgate/domain/Events"
import { Chunk, Deferred, Effect, Fiber, Layer, Schedule, Stream, TestClock } from "effect"
import * as Http from "node:http"
import * as HttpApp from "../src/HttpApp.js"
import * as Info from "../src/http/Info.js"
import { readSse } from "./support/Client.js"
import { echoGateway, services } from "./support/Doubles.js"

const decoder = new TextDecoder()

/** The body stream of `GET /v1/events` (as the handler answers it), as text pieces. */
const eventBody = (closing: Effect.Effect<void>) =>
  Effect.gen(function* () {
    const info = yield* Info.make(closing)
    const response = yield* info.eventStream()
    const body = response.body
    assert.strictEqual(body._tag, "Stream")
    if (body._tag !== "Stream") return Stream.empty
    assert.strictEqual(response.headers["cache-control"], "no-cache")
    return Stream.map(Stream.orDie(body.stream), (bytes) => decoder.decode(bytes))
  })

const health = new HealthChanged({ at: 1, model: "gpt-test", from: "available", to: "unavailable", reason: "probe failed" })

/** Subscriptions to the bus open right now (a wrapper around the services' bus). */
const open = { count: 0 }
const counted = <A>(stream: Stream.Stream<A>) =>
  Stream.unwrapScoped(Effect.as(Effect.acquireRelease(Effect.sync(() => open.count++), () => Effect.sync(() => open.count--)), stream))
const countingBus = Layer.effect(
  Events,
  Effect.map(Events, (bus) => ({
    ...bus,
    subscribe: counted(bus.subscribe),
    feed: (lastEventId: string | undefined) => counted(feedOf(bus)(lastEventId))
  }))
)

describe("/v1/events", () => {
  it.effect("sends a comment at once and a keep-alive comment every 15 s while idle, events between, and ends on closing", () =>
    Effect.gen(function* () {
      const closing = yield* Deferred.make<void>()
      const body = yield* eventBody(Deferred.await(closing))
      const received: Array<string> = []
      const reader = yield* Effect.fork(Stream.runForEach(body, (text) => Effect.sync(() => received.push(text))))
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(received, [": connected\nretry: 5000\n\n"])
      yield* TestClock.adjust("14 seconds")
      assert.deepStrictEqual(received, [": connected\nretry: 5000\n\n"], "nothing before 15 s")
      yield* TestClock.adjust("1 seconds")
      assert.deepStrictEqual(received, [": connected\nretry: 5000\n\n", ": keep-alive\n\n"])
      const events = yield* Events
      yield* events.publish(health)
      yield* TestClock.adjust("1 millis")
      const last = received.at(-1) ?? ""
      assert.isTrue(/^id: \S+-1\ndata: /.test(last) && last.endsWith("\n\n"), last)
      assert.deepStrictEqual(JSON.parse(last.slice(last.indexOf("data: ") + 6)), { _tag: "HealthChanged", at: 1, model: "gpt-test", from: "available", to: "unavailable", reason: "probe failed" })
      yield* TestClock.adjust("30 seconds")
      assert.deepStrictEqual(received.filter((t) => t === ": keep-alive\n\n").length, 3)
      yield* Deferred.succeed(closing, undefined)
      yield* Fiber.join(reader)
    }).pipe(Effect.provide(services(echoGateway))))

  it.effect("the stream ends on closing even when no keep-alive is due", () =>
    Effect.gen(function* () {
      const closing = yield* Deferred.make<void>()
      const body = yield* eventBody(Deferred.await(closing))
      const reader = yield* Effect.fork(Stream.runCollect(body))
      yield* TestClock.adjust("1 millis")
      yield* Deferred.succeed(closing, undefined)
      assert.deepStrictEqual(Chunk.toReadonlyArray(yield* Fiber.join(reader)), [": connected\nretry: 5000\n\n"])
    }).pipe(Effect.provide(services(echoGateway))))

  const server = Layer.fresh(HttpApp.layer).pipe(
    Layer.provideMerge(NodeHttpServer.layer(() => Http.createServer(), { port: 0, host: "127.0.0.1" })),
    Layer.provideMerge(countingBus),
    Layer.provideMerge(services(echoGateway))
  )
  layer(server, { excludeTestServices: true })((it) => {
    it.effect("a client that disconnects releases its subscription", () =>
      Effect.gen(function* () {
        const events = yield* Events
        const publisher = yield* Effect.fork(Effect.repeat(events.publish(health), Schedule.spaced("20 millis")))
        for (let i = 0; i < 3; i++) {
          const got = yield* readSse("/v1/events", {}, (data) => (data.length > 0 ? open.count : undefined))
          assert.strictEqual(got.value, 1, "subscribed while reading")
          yield* Effect.repeat(Effect.sync(() => open.count), { until: (n) => n === 0, schedule: Schedule.spaced("10 millis") }).pipe(
            Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => `still ${open.count} subscription(s) after the client left` })
          )
        }
        yield* Fiber.interrupt(publisher)
      }), { timeout: 10_000 })
  })
})
