/**
 * Two gateway instances on one PostgreSQL database share their events: a
 * request served by A publishes its ModelSelected on A, and a subscriber of
 * B (a `/v1/events` stream behind a load balancer) receives it at B's next
 * sync (`events.syncIntervalMs`, on by default on PostgreSQL), decoded as
 * published. Neither writes back what it read: each sees every event once.
 * An instance writes its events only once it has learnt that another one has
 * a subscriber (each says so at its syncs): the test waits for that first.
 */
import { assert, layer } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { Events } from "@modelgate/core/Events"
import { InstanceId } from "@modelgate/core/InstanceId"
import { GatewayEvent, WindowReset } from "@modelgate/domain/Events"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import * as TestPostgres from "@modelgate/testkit/TestPostgres"
import { Effect, Schema } from "effect"
import { ask, models, poll, recordEvents } from "./fixture.js"
import { postgresPair } from "./postgresPair.js"

/**
 * An event as JSON, without the instance that published it (set on the copy
 * another instance read; an optional field left undefined and one left out read the same).
 */
const encoded = (event: GatewayEvent) => {
  const { instance: _, ...rest } = Schema.encodeSync(GatewayEvent)(event)
  return JSON.stringify(rest)
}

layer(TestPostgres.layer, { timeout: 60_000, excludeTestServices: true })("two gateways on one PostgreSQL database", (it) => {
  it.scoped("a request served by A: its ModelSelected reaches B's subscribers, once, and is not written back to A", () =>
    Effect.gen(function* () {
      const { a, another } = yield* postgresPair({
        prefix: "modelgate-shared-events-",
        models: models(),
        gateway: { events: { syncIntervalMs: 50 }, healthCheck: { enabled: false }, cache: { enabled: false } }
      })
      const b = yield* another
      const onA = yield* recordEvents.pipe(Effect.provide(a))
      const onB = yield* recordEvents.pipe(Effect.provide(b))
      const complete = (content: string) => Effect.flatMap(Gateway, (g) => g.complete(ask(content), defaultRequirements))

      /** Until `to`'s subscriber receives a probe published on `from`: `from` shares its events with `to`. */
      const sharing = (from: typeof a, to: typeof onB, name: string) =>
        poll(
          Effect.zipRight(Effect.flatMap(Events, (e) => e.publish(WindowReset.make({ at: 0, model: name }))).pipe(Effect.provide(from)), to.ofTag("WindowReset")),
          (xs) => xs.some((x) => x.model === name),
          10_000,
          `${name}: the other instance's subscriber known`
        )
      yield* sharing(a, onB, "probe-a")
      yield* sharing(b, onA, "probe-b")

      const selections = (on: typeof onA) => on.ofTag("ModelSelected")
      /** A request served by `from`, once `to`'s subscriber has received its ModelSelected (the `count`-th it sees). */
      const served = (from: typeof a, to: typeof onB, count: number) =>
        Effect.gen(function* () {
          const answer = yield* complete("hello").pipe(Effect.provide(from))
          const seen = yield* poll(selections(to), (xs) => xs.length >= count, 5_000, `ModelSelected number ${count}`)
          assert.strictEqual(seen.at(-1)!.model, answer.meta.model)
        })

      yield* served(a, onB, 1)
      const [first] = yield* poll(selections(onA), (xs) => xs.length >= 1, 5_000, "A's own ModelSelected")
      const copy = (yield* selections(onB))[0]!
      assert.deepStrictEqual(encoded(copy), encoded(first!), "decoded as published")
      assert.isUndefined(first!.instance, "A's own event names no instance")
      assert.strictEqual(copy.instance, yield* InstanceId.pipe(Effect.provide(a)), "B's copy names A")
      // Back and forth: an event written back by the instance that read it would come before the next one of that instance.
      yield* served(b, onA, 2)
      yield* served(a, onB, 3)
      yield* served(b, onA, 4)
      const all = yield* selections(onA)
      assert.strictEqual(all.length, 4)
      assert.deepStrictEqual((yield* selections(onB)).map(encoded), all.map(encoded))
    }))
})
