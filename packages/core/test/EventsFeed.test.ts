/**
 * The `/v1/events` feed (`Events/Feed.ts`) on a small ring and buffer: a
 * reconnect naming an id still kept gets what followed it, once; one older
 * than what is kept gets a `too_old` notice counting the events lost, then
 * what is kept; a reader whose sliding buffer dropped live events is told how
 * many (`slow_reader`), never left to miss them silently.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Feed from "@modelgate/core/Events/Feed"
import * as Replay from "@modelgate/core/Events/Replay"
import { type GatewayEvent, HealthChanged } from "@modelgate/domain/Events"
import { Chunk, Effect, PubSub, Stream } from "effect"

const health = (at: number): GatewayEvent => new HealthChanged({ at, model: "m", from: "available", to: "unavailable", reason: "r" })

/** A bus in miniature: a ring of `kept` events and a sliding buffer of `buffer` per subscriber. */
const bus = (kept: number, buffer: number) =>
  Effect.gen(function* () {
    const pubsub = yield* PubSub.sliding<Replay.Numbered<GatewayEvent>>(buffer)
    const replay = Replay.make<GatewayEvent>(kept)
    const publish = (at: number) => PubSub.publish(pubsub, replay.append(health(at)))
    const feed = Feed.make({ bootId: "boot", replay, subscribe: PubSub.subscribe(pubsub) })
    return { publish, feed }
  })

/** A delivery as a short string: `e<at>@<id>` or `missed:<reason>:<count>`. */
const show = (d: Feed.Delivery) => d._tag === "Event" ? `e${d.event.at}@${d.id}` : `missed:${d.reason}:${d.count}`

describe("Events feed", () => {
  it.effect("a reconnect after a kept id gets what followed, once and in order, then the live events", () =>
    Effect.gen(function* () {
      const { feed, publish } = yield* bus(3, 16)
      for (const at of [1, 2, 3, 4]) yield* publish(at)
      const got = yield* Effect.scoped(Effect.gen(function* () {
        const pull = yield* Stream.toPull(feed("boot-2"))
        const opening = yield* pull
        yield* publish(5)
        return [...opening, ...(yield* pull)].map(show)
      }))
      assert.deepStrictEqual(got, ["e3@boot-3", "e4@boot-4", "e5@boot-5"])
    }))

  it.effect("an id older than what is kept gets a too_old notice counting the lost events, then what is kept", () =>
    Effect.gen(function* () {
      const { feed, publish } = yield* bus(3, 16)
      for (const at of [1, 2, 3, 4, 5, 6]) yield* publish(at)
      const got = yield* Stream.runCollect(Stream.take(feed("boot-1"), 4))
      assert.deepStrictEqual(Chunk.toReadonlyArray(got).map(show), ["missed:too_old:2", "e4@boot-4", "e5@boot-5", "e6@boot-6"])
    }))

  it.effect("another process's id (or none it gave) gets an unknown_id notice, then what is kept", () =>
    Effect.gen(function* () {
      const { feed, publish } = yield* bus(3, 16)
      yield* publish(1)
      for (const id of ["other-1", "boot-99", "boot-x"]) {
        const got = yield* Stream.runCollect(Stream.take(feed(id), 2))
        assert.deepStrictEqual(Chunk.toReadonlyArray(got).map(show), ["missed:unknown_id:undefined", "e1@boot-1"], id)
      }
    }))

  it.effect("a reader whose buffer dropped live events is told how many before the next", () =>
    Effect.gen(function* () {
      const { feed, publish } = yield* bus(100, 2)
      yield* publish(1)
      const got = yield* Effect.scoped(Effect.gen(function* () {
        const pull = yield* Stream.toPull(feed("boot-0"))
        const opening = yield* pull
        // Five published while the reader reads nothing: its buffer of 2 keeps the last two.
        for (const at of [2, 3, 4, 5, 6]) yield* publish(at)
        return [...opening, ...(yield* pull)].map(show)
      }))
      assert.deepStrictEqual(got, ["e1@boot-1", "missed:slow_reader:3", "e5@boot-5", "e6@boot-6"])
    }))
})
