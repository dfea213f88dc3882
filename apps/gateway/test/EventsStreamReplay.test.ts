/**
 * `GET /v1/events` after a reconnect: every event carries an `id:` and the
 * stream opens with a `retry:`, so an `EventSource` that lost its connection
 * comes back with `Last-Event-ID` (or a polyfill with `?lastEventId=`) and is
 * sent the events it missed, still in the gateway's memory, exactly once and
 * in order, then the live ones. An id the gateway does not know (another
 * process's, or older than what it keeps) gets what it keeps after an
 * `event: missed` notice. Before, a reconnecting dashboard or alerting
 * consumer silently lost every event published while it was away.
 */
import { NodeHttpServer } from "@effect/platform-node"
import { assert, describe, it, layer } from "@effect/vitest"
import { Events, feedOf, replayCapacity } from "@modelgate/core/Events"
import { HealthChanged } from "@modelgate/domain/Events"
import { Chunk, Effect, Fiber, Layer, Stream } from "effect"
import * as Http from "node:http"
import * as HttpApp from "../src/HttpApp.js"
import * as Info from "../src/http/Info.js"
import { readSseText } from "./support/Client.js"
import { echoGateway, services } from "./support/Doubles.js"

/** One SSE message: its fields (the last of each) and its data parsed. */
interface Message {
  readonly id: string | undefined
  readonly event: string | undefined
  readonly retry: string | undefined
  readonly data: any
}

const parseMessages = (text: string): ReadonlyArray<Message> =>
  text.split("\n\n").slice(0, -1).flatMap((block) => {
    const fields = new Map<string, string>()
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue
      const colon = line.indexOf(":")
      fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart())
    }
    if (fields.size === 0) return []
    const data = fields.get("data")
    return [{ id: fields.get("id"), event: fields.get("event"), retry: fields.get("retry"), data: data === undefined ? undefined : JSON.parse(data) }]
  })

/** Read `GET path` with `headers` until `enough` holds for the messages so far, then close it. */
const readEvents = (path: string, headers: Record<string, string>, enough: (messages: ReadonlyArray<Message>) => boolean) =>
  Effect.map(readSseText(path, headers, (text) => {
    const messages = parseMessages(text)
    return enough(messages) ? messages : undefined
  }), (read) => read.value ?? [])

const health = (at: number) => new HealthChanged({ at, model: "gpt-test", from: "available", to: "unavailable", reason: `probe ${at}` })

/** The events (no `event:` field) among `messages`. */
const eventsOf = (messages: ReadonlyArray<Message>) => messages.filter((m) => m.event === undefined && m.data !== undefined)

const server = Layer.fresh(HttpApp.layer).pipe(
  Layer.provideMerge(NodeHttpServer.layer(() => Http.createServer(), { port: 0, host: "127.0.0.1" })),
  Layer.provideMerge(services(echoGateway))
)

describe("/v1/events replay", () => {
  layer(server, { excludeTestServices: true })((it) => {
    it.effect("every event has an increasing id, the stream opens with retry:, and a reconnect with Last-Event-ID gets the missed events once, in order, then live ones", () =>
      Effect.gen(function* () {
        const bus = yield* Events
        // Publish while the first reader is connected, until it has read two events.
        const first = yield* Effect.fork(readEvents("/v1/events", {}, (m) => eventsOf(m).length >= 2))
        let at = 1
        const seen = yield* Effect.gen(function* () {
          for (;;) {
            yield* bus.publish(health(at++))
            yield* Effect.sleep("20 millis")
            const done = first.unsafePoll()
            if (done !== null) return yield* done
          }
        })
        assert.strictEqual(seen[0]?.retry, "5000", "a retry: field first")
        const firstEvents = eventsOf(seen)
        assert.isTrue(firstEvents.every((m) => m.id !== undefined), "every event has an id")
        const last = firstEvents.at(-1)!
        // Away: three events published, then a reconnect with the last id read.
        const missedAt = [at, at + 1, at + 2]
        for (const n of missedAt) yield* bus.publish(health(n))
        const live = at + 3
        const again = yield* Effect.fork(readEvents("/v1/events", { "last-event-id": last.id! }, (m) => eventsOf(m).some((e) => e.data.at === live)))
        yield* Effect.sleep("100 millis")
        yield* bus.publish(health(live))
        const replayed = eventsOf(yield* Fiber.join(again))
        assert.deepStrictEqual(replayed.map((m) => m.data.at), [...missedAt, live], "the missed events once, in order, then the live one")
        const ids = [...firstEvents, ...replayed].map((m) => Number(m.id!.split("-").at(-1)))
        assert.isTrue(ids.every((id, i) => i === 0 || id > ids[i - 1]!), `ids increase: ${ids.join(", ")}`)
        // The query parameter works as the header does.
        const byQuery = yield* readEvents(`/v1/events?lastEventId=${encodeURIComponent(last.id!)}`, {}, (m) => eventsOf(m).length >= 4)
        assert.deepStrictEqual(eventsOf(byQuery).map((m) => m.data.at), [...missedAt, live])
      }), { timeout: 15_000 })

    it.effect("an id the gateway does not know gets an event: missed notice, then what it keeps", () =>
      Effect.gen(function* () {
        const bus = yield* Events
        yield* bus.publish(health(100))
        const messages = yield* readEvents("/v1/events", { "last-event-id": "previous-process-7" }, (m) => eventsOf(m).some((e) => e.data.at === 100))
        const notice = messages.findIndex((m) => m.event === "missed")
        assert.isTrue(notice >= 0, "an event: missed notice")
        assert.strictEqual(messages[notice]!.data.reason, "unknown_id")
        assert.isTrue(notice < messages.findIndex((m) => m.data?.at === 100), "the notice comes before the replay")
      }), { timeout: 10_000 })
  })

  it.effect("an id older than what is kept: the master key is told how many were lost; a virtual key is told without the count, which would tell of other teams' events", () =>
    Effect.gen(function* () {
      const bus = yield* Events
      yield* bus.publish(health(0))
      // Its id, as a reader that does not know one is sent it among what is kept.
      const kept = yield* Stream.runCollect(Stream.takeUntil(feedOf(bus)("none"), (d) => d._tag === "Event" && d.event._tag === "HealthChanged" && d.event.reason === "probe 0"))
      const id = Chunk.unsafeLast(kept)
      assert.strictEqual(id._tag, "Event")
      for (let at = 1; at <= replayCapacity + 2; at++) yield* bus.publish(health(at))
      const info = yield* Info.make(Effect.never)
      const opening = (reader: Info.Reader) =>
        Effect.gen(function* () {
          const response = yield* info.eventStream(reader, () => true, id._tag === "Event" ? id.id : undefined)
          const body = response.body
          if (body._tag !== "Stream") return assert.fail("a stream")
          const text = yield* Stream.runFold(Stream.take(Stream.orDie(body.stream), 3), "", (all, bytes) => all + new TextDecoder().decode(bytes))
          return parseMessages(text).find((m) => m.event === "missed")?.data
        })
      assert.deepStrictEqual(yield* opening("all"), { reason: "too_old", count: 2 })
      assert.deepStrictEqual(yield* opening({ team: "search" }), { reason: "too_old" })
    }).pipe(Effect.provide(services(echoGateway))))
})
