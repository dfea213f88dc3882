/**
 * Real-time waits for tests that drive something outside the Effect runtime
 * (a child process, a socket): each gives up after `hangAfterMs` of real time
 * with a message naming what hung. A detector, never the bound a test asserts:
 * the test must pass however slow the machine is, short of a hang.
 */
import { assert } from "@effect/vitest"
import { Duration, Effect, Option, TestServices } from "effect"

/** Real time after which a wait is taken as a hang. */
export const hangAfterMs = 30_000

const giveUp = (what: string, detail: () => string) =>
  assert.fail(`${what}: still waiting after ${hangAfterMs} ms of real time (it hung, or the machine stalled that long)${detail()}`)

/** The value of `promise` (started when the effect runs); fails naming `what` (plus `detail()`) if it has not settled after `hangAfterMs`. */
export const settles = <A>(what: string, promise: () => Promise<A>, detail: () => string = () => "") =>
  Effect.gen(function* () {
    const value = yield* TestServices.provideLive(Effect.timeoutOption(Effect.promise(promise), Duration.millis(hangAfterMs)))
    return Option.isSome(value) ? value.value : giveUp(what, detail)
  })

/** Poll `check` every 10 ms of real time until it returns a value; fails naming `what` (plus `detail()`) after `hangAfterMs`. */
export const until = <A>(what: string, check: Effect.Effect<A | undefined>, detail: () => string = () => "") =>
  Effect.gen(function* () {
    const poll: Effect.Effect<A> = Effect.flatMap(check, (value) =>
      value === undefined ? Effect.zipRight(Effect.sleep("10 millis"), Effect.suspend(() => poll)) : Effect.succeed(value)
    )
    const value = yield* TestServices.provideLive(Effect.timeoutOption(poll, Duration.millis(hangAfterMs)))
    return Option.isSome(value) ? value.value : giveUp(what, detail)
  })
