/**
 * Identical cacheable complete requests in flight at once: the first of a
 * cache key (the leader) is answered as usual; the others (its followers)
 * wait for it, then look in the cache again, where its answer is a hit (as
 * it is for a request that comes once it was answered). A leader that ends
 * without an answer in the cache (it failed, its answer was not stored)
 * wakes its followers all the same: each then goes on alone, all at once (as
 * without merging: never one after another, which would make the last wait
 * for every failure before it).
 *
 * A flight ends however its leader ends (`leading`); a complete call its
 * client left runs on (`LeftBehind.ts`) and takes the flight over
 * (`handOff`), ending it once the call is accounted and cached. The map is
 * bounded: a key beyond `maxFlights` is not merged. Plain code on the
 * request path: a Map lookup, no fiber; a follower waits on its leader's
 * Deferred (its client leaving just stops its wait), and only behind a
 * leader of its priority or a higher one.
 */
import type { Priority } from "@modelgate/domain/Requirements"
import { Deferred, Effect, Exit, FiberId } from "effect"
import type { Begun } from "./RequestStart.js"
import { rank } from "./WaitQueue.js"

/** One leader's flight: its followers wait for `done`. */
export interface Flight {
  readonly key: string
  readonly done: Deferred.Deferred<void>
  /** Its leader's priority: a request of a higher one does not wait behind it (`leading`). */
  readonly priority: Priority
}

/** The flights of one gateway, by cache key. */
export interface InFlight {
  readonly flights: Map<string, Flight>
  /** Keys in flight at most; a request of another key beyond them is not merged. */
  readonly maxFlights: number
}

/** How many cache keys may be in flight at once by default. */
export const defaultMaxFlights = 10_000

/** An empty set of flights, bounded at `maxFlights` keys. */
export const make = (maxFlights = defaultMaxFlights): InFlight => ({ flights: new Map(), maxFlights })

/** End `flight`: out of the map (its key is free for a new leader), then its followers are woken. */
const land = (inFlight: InFlight, flight: Flight): void => {
  if (inFlight.flights.get(flight.key) === flight) inFlight.flights.delete(flight.key)
  Deferred.unsafeDone(flight.done, Exit.void)
}

/** End the flight the request leads, if it still holds one. */
export const release = (inFlight: InFlight, begun: Begun): void => {
  const flight = begun.flight
  if (flight === undefined) return
  begun.flight = undefined
  land(inFlight, flight)
}

/** The flight the request leads, taken from it by its call left running (undefined: none). */
export const handOff = (begun: Begun): Flight | undefined => {
  const flight = begun.flight
  begun.flight = undefined
  return flight
}

/** `effect`, then the end of `flight` however it ends (`effect` itself when there is none). */
export const landedAfter = <A, E, R>(inFlight: InFlight, effect: Effect.Effect<A, E, R>, flight: Flight | undefined): Effect.Effect<A, E, R> =>
  flight === undefined ? effect : Effect.ensuring(effect, Effect.sync(() => land(inFlight, flight)))

/**
 * The request's answer after its cache miss: `answer()` as the leader of
 * its cache key (`begun.key`) when none is in flight, the flight ending
 * however it ends; or, behind a leader, `again` (the cache lookup, then the
 * answer alone) once the leader's flight ended. A request of a higher
 * `priority` than the leader's does not wait behind it (the leader may wait
 * in the queue, where it would go first): it leads the key's next flight,
 * the leader's followers still waiting for the leader. Not merged
 * (`answer()` alone) without a key or beyond `maxFlights` keys.
 */
export const leading = <A, E>(
  inFlight: InFlight,
  begun: Begun,
  priority: Priority,
  answer: () => Effect.Effect<A, E>,
  again: () => Effect.Effect<A, E>
): Effect.Effect<A, E> =>
  // Uninterruptible from the flight's entry to its release's installation: an interruption in between
  // (at a yield of the fiber) would leave the entry for good, every identical request waiting on it.
  Effect.uninterruptibleMask((restore) =>
    Effect.suspend(() => {
      const key = begun.key
      if (key === undefined) return restore(answer())
      const ahead = inFlight.flights.get(key)
      if (ahead !== undefined && rank[priority] <= rank[ahead.priority]) return restore(Effect.flatMap(Deferred.await(ahead.done), again))
      if (ahead === undefined && inFlight.flights.size >= inFlight.maxFlights) return restore(answer())
      const flight: Flight = { key, done: Deferred.unsafeMake<void>(FiberId.none), priority }
      inFlight.flights.set(key, flight)
      begun.flight = flight
      return Effect.ensuring(restore(answer()), Effect.sync(() => release(inFlight, begun)))
    })
  )
