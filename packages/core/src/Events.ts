/**
 * Events: one PubSub of typed GatewayEvents, the integration point for a host's
 * dashboards and optimizers. With several instances on one database, the
 * events' sync (`Events/Sync.ts`, through `EventRelay`) shares them: `publish`
 * then also keeps each event in a bounded outbox (a push, nothing more on the
 * request path), and the other instances' events are published here too.
 * Every event published here (this instance's and the others') is numbered
 * and the last `replayCapacity` kept (`Events/Replay.ts`, a push too), so
 * that a `/v1/events` reader that reconnects is sent what it missed (`feed`).
 */
import type { GatewayEvent } from "@modelgate/domain/Events"
import { Clock, Context, Effect, Layer, PubSub, Random, Stream } from "effect"
import * as Feed from "./Events/Feed.js"
import * as Outbox from "./Events/Outbox.js"
import * as Replay from "./Events/Replay.js"

/** The gateway's event bus. */
export class Events extends Context.Tag("@modelgate/core/Events")<
  Events,
  {
    /** Publish an event to every current subscriber (never blocks: a sliding buffer). */
    readonly publish: (event: GatewayEvent) => Effect.Effect<void>
    /**
     * `publish` from the step that calls it: the event is offered when
     * called, and the answer is `Effect.void` itself when it fit (the caller
     * may skip its step). Optional: callers fall back to `publish`.
     */
    readonly publishNow?: (event: GatewayEvent) => Effect.Effect<void>
    /** Every event published from the moment the stream is run. */
    readonly subscribe: Stream.Stream<GatewayEvent>
    /**
     * `subscribe` for `/v1/events`: each event with its id, after those kept
     * past `lastEventId` (a reconnect), and notices of events missed
     * (`Events/Feed.ts`). Optional: without it, `feedOf` falls back to
     * `subscribe` (no ids, no replay).
     */
    readonly feed?: (lastEventId: string | undefined) => Stream.Stream<Feed.Delivery>
  }
>() {}

/**
 * What the sync between instances on one database (`Events/Sync.ts`) needs
 * of this instance's bus: the events published here since its last write
 * (kept only while `keep` is on), and a way to hand the other instances'
 * events to the local subscribers without keeping them (never written back).
 */
export class EventRelay extends Context.Tag("@modelgate/core/EventRelay")<
  EventRelay,
  {
    /** Start (true) or stop (false: what is kept is dropped) keeping the events published here. Off at first. */
    readonly keep: (on: boolean) => Effect.Effect<void>
    /** The events published here and not yet written, oldest first. */
    readonly outbox: Effect.Effect<Outbox.Pending<GatewayEvent>>
    /** Remove what `outbox` gave, up to `upTo`, once it is written. */
    readonly written: (upTo: number) => Effect.Effect<void>
    /** How many events the outbox dropped (full: its oldest) since the last call. */
    readonly dropped: Effect.Effect<number>
    /** Publish other instances' events to this instance's subscribers (not kept for the others). */
    readonly publishOthers: (events: ReadonlyArray<GatewayEvent>) => Effect.Effect<void>
    /** How many subscribers this instance has now (`subscribe` streams running). */
    readonly subscribers: () => number
  }
>() {}

/** How many events the outbox keeps between two syncs (the oldest dropped beyond: a database down for long). */
export const outboxCapacity = 10_000

/** How many of the latest events the bus keeps for readers that reconnect (`feed`). */
export const replayCapacity = 1_000

/** `events.feed`, or for a bus without one, its `subscribe` as deliveries without ids. */
export const feedOf = (events: Events["Type"]): (lastEventId: string | undefined) => Stream.Stream<Feed.Delivery> =>
  events.feed ?? (() => Stream.map(events.subscribe, (event): Feed.Delivery => ({ _tag: "Event", id: undefined, event })))

/** Build the bus and its relay on a sliding PubSub: a slow subscriber drops its oldest events, never blocks the gateway. */
export const makeWithRelay = Effect.gen(function* () {
  const pubsub = yield* Effect.acquireRelease(PubSub.sliding<Replay.Numbered<GatewayEvent>>(4_096), PubSub.shutdown)
  const replay = Replay.make<GatewayEvent>(replayCapacity)
  // Tells this process's event ids from a previous one's (a restart numbers from 1 again).
  const bootId = (yield* Clock.currentTimeMillis).toString(36) + (yield* Random.nextIntBetween(0, 36 ** 4)).toString(36)
  const outbox = Outbox.make<GatewayEvent>(outboxCapacity)
  let keeping = false
  let subscribers = 0
  // Counted while each runs: the sync shares events only while some instance has a subscriber.
  const counted = Effect.acquireRelease(Effect.sync(() => void subscribers++), () => Effect.sync(() => void subscribers--))
  // No step when the event fits (always, with no subscriber): `unsafeOffer`; the sliding
  // `publish` (drops a slow subscriber's oldest event) only when a buffer is full or shut down.
  const offer = (event: GatewayEvent): Effect.Effect<void> => {
    const numbered = replay.append(event)
    return pubsub.unsafeOffer(numbered) ? Effect.void : Effect.asVoid(PubSub.publish(pubsub, numbered))
  }
  const publishNow = (event: GatewayEvent): Effect.Effect<void> => {
    if (keeping) outbox.push(event)
    return offer(event)
  }
  const events = Events.of({
    publish: (event) => Effect.suspend(() => publishNow(event)),
    publishNow,
    subscribe: Stream.unwrapScoped(Effect.as(counted, Stream.map(Stream.fromPubSub(pubsub), (n) => n.item))),
    feed: Feed.make({ bootId, replay, subscribe: Effect.zipRight(counted, PubSub.subscribe(pubsub)) })
  })
  const relay = EventRelay.of({
    keep: (on) =>
      Effect.sync(() => {
        keeping = on
        if (!on) outbox.clear()
      }),
    outbox: Effect.sync(() => outbox.pending()),
    written: (upTo) => Effect.sync(() => outbox.done(upTo)),
    dropped: Effect.sync(() => outbox.takeDropped()),
    publishOthers: (others) => Effect.forEach(others, offer, { discard: true }),
    subscribers: () => subscribers
  })
  return { events, relay }
})

/** Build the bus alone (see `makeWithRelay`). */
export const make = Effect.map(makeWithRelay, ({ events }) => events)

/** The live event bus, and its relay for the sync between instances. */
export const layer: Layer.Layer<Events | EventRelay> = Layer.scopedContext(
  Effect.map(makeWithRelay, ({ events, relay }) => Context.make(Events, events).pipe(Context.add(EventRelay, relay)))
)
