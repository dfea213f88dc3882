/**
 * The flights of identical requests (`Gateway/InFlight.ts`): a flight is out
 * of the map however its leader ends (answer, failure, interruption, its call
 * handed off and accounted), and the map holds at most `maxFlights` keys.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber } from "effect"
import * as InFlight from "../src/Gateway/InFlight.js"
import type { Begun } from "../src/Gateway/RequestStart.js"

/** The part of a request's start the flights read and set. */
const begun = (key: string | undefined) => ({ key, flight: undefined }) as unknown as Begun

/** Lead `key` with `answer`; a follower answers "again". */
const lead = <E>(inFlight: InFlight.InFlight, key: string | undefined, answer: Effect.Effect<string, E>) =>
  InFlight.leading(inFlight, begun(key), "MEDIUM", () => answer, () => Effect.succeed("again"))

describe("InFlight", () => {
  it.effect("a flight is out of the map once its leader answers, fails or is interrupted", () =>
    Effect.gen(function* () {
      const inFlight = InFlight.make()
      assert.strictEqual(yield* lead(inFlight, "k", Effect.succeed("answer")), "answer")
      assert.strictEqual(inFlight.flights.size, 0)
      assert.isTrue(Exit.isFailure(yield* Effect.exit(lead(inFlight, "k", Effect.fail("no")))))
      assert.strictEqual(inFlight.flights.size, 0)
      const never = yield* Effect.fork(lead(inFlight, "k", Effect.never))
      yield* Effect.yieldNow()
      assert.strictEqual(inFlight.flights.size, 1)
      const follower = yield* Effect.fork(lead(inFlight, "k", Effect.succeed("not called")))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(never)
      assert.strictEqual(inFlight.flights.size, 0)
      assert.strictEqual(yield* Fiber.join(follower), "again", "the follower looks again once its leader is gone")
    }))

  it.effect("a follower that leaves stops waiting and leaves the flight as it was", () =>
    Effect.gen(function* () {
      const inFlight = InFlight.make()
      const gate = yield* Deferred.make<string>()
      const leader = yield* Effect.fork(lead(inFlight, "k", Deferred.await(gate)))
      yield* Effect.yieldNow()
      const follower = yield* Effect.fork(lead(inFlight, "k", Effect.succeed("not called")))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(follower)
      assert.strictEqual(inFlight.flights.size, 1, "the leader still leads")
      yield* Deferred.succeed(gate, "answer")
      assert.strictEqual(yield* Fiber.join(leader), "answer")
      assert.strictEqual(inFlight.flights.size, 0)
    }))

  it.effect("a flight handed to a call left running ends when that call is accounted, not with its leader", () =>
    Effect.gen(function* () {
      const inFlight = InFlight.make()
      const request = begun("k")
      const accounted = yield* Deferred.make<void>()
      let handed: InFlight.Flight | undefined
      const leader = InFlight.leading(inFlight, request, "MEDIUM", () =>
        Effect.zipRight(Effect.sync(() => (handed = InFlight.handOff(request))), Effect.interrupt), () => Effect.void)
      yield* Effect.exit(leader)
      assert.strictEqual(inFlight.flights.size, 1, "the call running on still holds it")
      const account = yield* Effect.fork(InFlight.landedAfter(inFlight, Deferred.await(accounted), handed))
      yield* Deferred.succeed(accounted, undefined)
      yield* Fiber.join(account)
      assert.strictEqual(inFlight.flights.size, 0)
    }))

  it.effect("beyond maxFlights keys a request is not merged, and requests without a key never are", () =>
    Effect.gen(function* () {
      const inFlight = InFlight.make(2)
      const fibers = yield* Effect.forEach(["a", "b", "c"], (key) => Effect.fork(lead(inFlight, key, Effect.never)))
      yield* Effect.yieldNow()
      assert.deepStrictEqual([...inFlight.flights.keys()], ["a", "b"], "bounded")
      assert.strictEqual(yield* lead(inFlight, "c", Effect.succeed("alone")), "alone", "not behind the unmerged one")
      assert.strictEqual(yield* lead(inFlight, undefined, Effect.succeed("alone")), "alone")
      yield* Effect.forEach(fibers, Fiber.interrupt)
      assert.strictEqual(inFlight.flights.size, 0)
    }))

  it.effect("a request of a higher priority than the leader's leads the key's next flight; the leader's end leaves it", () =>
    Effect.gen(function* () {
      const inFlight = InFlight.make()
      const lowGate = yield* Deferred.make<string>()
      const criticalGate = yield* Deferred.make<string>()
      const at = (priority: "LOW" | "CRITICAL", answer: Effect.Effect<string>) =>
        Effect.fork(InFlight.leading(inFlight, begun("k"), priority, () => answer, () => Effect.succeed("again")))
      const low = yield* at("LOW", Deferred.await(lowGate))
      yield* Effect.yieldNow()
      const lowFollower = yield* at("LOW", Effect.succeed("not called"))
      const critical = yield* at("CRITICAL", Deferred.await(criticalGate))
      yield* Effect.yieldNow()
      const criticalFollower = yield* at("CRITICAL", Effect.succeed("not called"))
      yield* Effect.yieldNow()
      yield* Deferred.succeed(lowGate, "low")
      assert.strictEqual(yield* Fiber.join(low), "low")
      assert.strictEqual(yield* Fiber.join(lowFollower), "again", "the leader's followers waited for it")
      assert.strictEqual(inFlight.flights.size, 1, "the CRITICAL flight is still in the map")
      yield* Deferred.succeed(criticalGate, "critical")
      assert.strictEqual(yield* Fiber.join(critical), "critical")
      assert.strictEqual(yield* Fiber.join(criticalFollower), "again", "behind the CRITICAL leader, not sent")
      assert.strictEqual(inFlight.flights.size, 0)
    }))
})
