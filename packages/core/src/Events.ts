/**
 * Events: one PubSub of typed GatewayEvents, the integration point for a host's
 * dashboards and optimizers.
 */
import type { GatewayEvent } from "@modelgate/domain/Events"
import { Context, Effect, Layer, PubSub, Stream } from "effect"

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
  }
>() {}

/** Build the bus on a sliding PubSub: a slow subscriber drops its oldest events, never blocks the gateway. */
export const make = Effect.gen(function* () {
  const pubsub = yield* Effect.acquireRelease(PubSub.sliding<GatewayEvent>(4_096), PubSub.shutdown)
  // No step when the event fits (always, with no subscriber): `unsafeOffer`; the sliding
  // `publish` (drops a slow subscriber's oldest event) only when a buffer is full or shut down.
  const publishNow = (event: GatewayEvent): Effect.Effect<void> =>
    pubsub.unsafeOffer(event) ? Effect.void : Effect.asVoid(PubSub.publish(pubsub, event))
  return Events.of({
    publish: (event) => Effect.suspend(() => publishNow(event)),
    publishNow,
    subscribe: Stream.fromPubSub(pubsub)
  })
})

/** The live event bus. */
export const layer: Layer.Layer<Events> = Layer.scoped(Events, make)
