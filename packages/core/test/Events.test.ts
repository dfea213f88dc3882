import { assert, describe, it } from "@effect/vitest"
import { ModelSelected, WindowReset } from "@modelgate/domain/Events"
import { Chunk, Context, Effect, Fiber, Layer, Stream } from "effect"
import * as Events from "../src/Events.js"

describe("Events", () => {
  it.scoped("every subscriber receives the events published after it subscribed, in order (publish or publishNow)", () =>
    Effect.gen(function*() {
      const events = Context.get(yield* Layer.build(Events.layer), Events.Events)
      yield* events.publish(new WindowReset({ at: 0, model: "before" }))
      const take = (n: number) => Effect.fork(Stream.runCollect(Stream.take(events.subscribe, n)))
      const first = yield* take(2)
      const second = yield* take(2)
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      yield* events.publish(new ModelSelected({ at: 1, model: "a", score: 0.9, reason: "best" }))
      // `publishNow` offers the event when called; with room in every buffer nothing is left to run.
      assert.strictEqual(events.publishNow?.(new WindowReset({ at: 2, model: "a" })), Effect.void)
      for (const fiber of [first, second]) {
        const got = Chunk.toReadonlyArray(yield* Fiber.join(fiber))
        assert.deepStrictEqual(got.map((e) => e._tag), ["ModelSelected", "WindowReset"])
      }
    }))

  it.scoped("publishing never blocks, even with a subscriber that does not read", () =>
    Effect.gen(function*() {
      const events = Context.get(yield* Layer.build(Events.layer), Events.Events)
      const stalled = yield* Effect.fork(Stream.runDrain(Stream.mapEffect(events.subscribe, () => Effect.never)))
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      for (let i = 0; i < 10_000; i++) yield* events.publish(new WindowReset({ at: i, model: "m" }))
      for (let i = 0; i < 10; i++) yield* events.publishNow!(new WindowReset({ at: i, model: "m" }))
      yield* Fiber.interrupt(stalled)
    }))
})
