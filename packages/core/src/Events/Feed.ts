/**
 * What a `/v1/events` reader is sent: each event with its id, after the
 * events it missed (a reconnect naming the last id it read), and a notice
 * wherever events are known to be missing: an id this process did not give
 * or no longer keeps, or live events its buffer dropped (a slow reader).
 */
import type { GatewayEvent } from "@modelgate/domain/Events"
import { Effect, type Queue, type Scope, Stream } from "effect"
import { formatId, type Numbered, parseId, type Replay } from "./Replay.js"

/** Why events may be missing: an id not given by this process, one older than what is kept, or a reader too slow for its buffer. */
export type MissedReason = "unknown_id" | "too_old" | "slow_reader"

/** One thing sent to a reader: an event (with its id; undefined from a bus that gives none) or a notice of missed events. */
export type Delivery =
  | { readonly _tag: "Event"; readonly id: string | undefined; readonly event: GatewayEvent }
  | { readonly _tag: "Missed"; readonly reason: MissedReason; readonly count: number | undefined }

const missed = (reason: MissedReason, count?: number): Delivery => ({ _tag: "Missed", reason, count })

/**
 * The feed of a bus: `subscribe` opens a subscription to its numbered events
 * (in its scope), `replay` keeps the recent ones, `bootId` tells this
 * process's ids from another's. With `lastEventId`, the events kept after it
 * come first (after a `Missed` notice when some after it are not kept), then
 * the live ones not among them; without, the live ones only. A gap in the
 * live numbers (the subscription's sliding buffer dropped some) is told as a
 * `slow_reader` notice with how many.
 */
export const make = (options: {
  readonly bootId: string
  readonly replay: Replay<GatewayEvent>
  readonly subscribe: Effect.Effect<Queue.Dequeue<Numbered<GatewayEvent>>, never, Scope.Scope>
}) =>
(lastEventId: string | undefined): Stream.Stream<Delivery> => {
  const delivery = (n: Numbered<GatewayEvent>): Delivery => ({ _tag: "Event", id: formatId(options.bootId, n.seq), event: n.item })
  return Stream.unwrapScoped(Effect.map(options.subscribe, (dequeue) => {
    // Subscribed first: every event numbered past `last` reaches the subscription (unless its buffer drops it).
    let last = options.replay.latest()
    const opening: Array<Delivery> = []
    // Live events up to here were replayed: skipped. Without a replay, those published while subscribing are sent as they come.
    let replayedUpTo = 0
    if (lastEventId !== undefined) {
      // An id past the last one given is another process's too (a restart that numbered as far).
      const parsed = parseId(options.bootId, lastEventId)
      const seq = parsed !== undefined && parsed <= last ? parsed : undefined
      const since = options.replay.since(seq ?? -1)
      if (seq === undefined) opening.push(missed("unknown_id"))
      else if (!since.complete) opening.push(missed("too_old", (since.items[0]?.seq ?? last + 1) - seq - 1))
      for (const n of since.items) opening.push(delivery(n))
      replayedUpTo = last
    }
    const live = Stream.mapConcat(Stream.fromQueue(dequeue), (n): ReadonlyArray<Delivery> => {
      if (n.seq <= replayedUpTo) return []
      if (n.seq <= last) return [delivery(n)]
      const dropped = n.seq - last - 1
      last = n.seq
      return dropped > 0 ? [missed("slow_reader", dropped), delivery(n)] : [delivery(n)]
    })
    return Stream.concat(Stream.fromIterable(opening), live)
  }))
}
