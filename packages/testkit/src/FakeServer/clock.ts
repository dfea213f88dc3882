/**
 * Driving `TestClock` while real I/O is in flight. A call against a fake does
 * real socket work, so a test cannot know when the fiber under test reaches
 * its retry sleep; `awaitSleep` polls (in real time) until it does.
 */
import { Chunk, Clock, Effect, TestClock } from "effect"

const live = Clock.make()

/**
 * Wait in real time until a fiber sleeps on the `TestClock` with a wake-up
 * `offset` ms from now that satisfies `accept` (default: every sleep); returns that
 * offset, ready for `TestClock.adjust`. Dies after `giveUpMs` of real time (a hang detector: generous, as a loaded machine is slow).
 * Sleeps of interrupted fibers (e.g. a finished request's timeout) stay
 * listed by `TestClock`, so make `accept` pick the offset you expect.
 * Typical use: `fork` the call, `TestClock.adjust(yield* awaitSleep((ms) => ms < timeoutMs))`, `join`.
 */
export const awaitSleep = (accept: (offsetMs: number) => boolean = () => true, giveUpMs = 10_000): Effect.Effect<number> =>
  Effect.gen(function*() {
    const started = yield* Effect.withClock(Clock.currentTimeMillis, live)
    while (true) {
      const now = yield* TestClock.currentTimeMillis
      const offsets = Chunk.toReadonlyArray(yield* TestClock.sleeps()).map((at) => at - now)
      const found = offsets.filter(accept).sort((a, b) => a - b)[0]
      if (found !== undefined) return found
      const elapsed = (yield* Effect.withClock(Clock.currentTimeMillis, live)) - started
      if (elapsed > giveUpMs) return yield* Effect.dieMessage(`no TestClock sleep matched within ${giveUpMs} ms (sleeps: ${offsets.join(", ")})`)
      yield* Effect.withClock(Effect.sleep(2), live)
    }
  })
