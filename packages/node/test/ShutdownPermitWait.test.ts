/**
 * The server shuts down (SIGTERM) while a request, past the queue, waits for
 * its model's concurrency permit (`rateLimits.concurrency`): it was never
 * sent, as a request still in the queue, so it fails at once with
 * `ShuttingDown` (the HTTP 503 `shutting_down`, for the client to
 * retry on another instance). It is not held until the call ahead of it
 * ends, only to be sent then, in the middle of the drain, where the grace
 * may cut it and it is billed all the same. Its reservation is given back
 * (recorded `NotSent`); the call that held the permit runs on and is answered.
 *
 * Time is `TestClock`, pinned at noon UTC (real socket I/O to the fakes is waited for in real time).
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway, type RequestOptions } from "@modelgate/core/Gateway"
import { ModelRegistry } from "@modelgate/core/ModelRegistry"
import { RateLimiter } from "@modelgate/core/RateLimiter"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Deferred, Effect, Either, Fiber, TestClock } from "effect"
import { ask, endsWithClockStill, models, noonUtc, poll, stack } from "./fixture.js"

/** gpt-4o-mini alone (no fallbacks), at one call in flight (`rateLimits.concurrency: 1`). */
const oneAtATime = () => {
  const m = models()
  const mini = m.models[0]!
  return { ...m, models: [{ ...mini, fallbacks: [], rateLimits: { ...mini.rateLimits, concurrency: 1 } }] }
}

const chatCalls = (requests: ReadonlyArray<{ readonly path: string }>) => requests.filter((r) => r.path.endsWith("/chat/completions")).length

/**
 * A first complete call held at the fake (it holds the permit), then
 * `second` (given the server's `closing`) waiting for the permit; the server
 * begins to close. Returns how `second` ended (with the clock still), then,
 * once the first call was answered, what the provider received and what the
 * model's window holds.
 */
const closeWhileWaitingForPermit = (
  second: (gateway: Gateway["Type"], options: RequestOptions) => Effect.Effect<unknown, { readonly _tag: string }>
) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(noonUtc)
    const s = yield* stack({ models: oneAtATime(), gateway: { cache: { enabled: false } } })
    return yield* Effect.gen(function* () {
      const gateway = yield* Gateway
      const mini = yield* Effect.flatMap(ModelRegistry, (r) => r.get("gpt-4o-mini"))
      const limiter = yield* RateLimiter
      const requestsUsed = Effect.map(limiter.headroom(mini, 1, undefined, true), (h) => h.requestsUsed)
      const closing = yield* Deferred.make<void>()
      const options: RequestOptions = { closing: Deferred.await(closing) }
      const gate = yield* Effect.makeLatch(false)
      yield* s.openai.persist(Fault.hold(gate))
      const first = yield* Effect.fork(gateway.complete(ask("first, holding the permit"), defaultRequirements, options))
      yield* s.openai.awaitHeld(1)
      const waiting = yield* Effect.fork(Effect.either(second(gateway, options)))
      // Its reservations taken: it is past the queue, at (or on its way to) the model's permit.
      yield* poll(requestsUsed, (n) => n === 2, 10_000, "the second request's reservation")
      yield* Effect.repeatN(Effect.yieldNow(), 20)
      yield* Deferred.succeed(closing, undefined)
      const result = yield* endsWithClockStill(Fiber.join(waiting), "a request waiting for a permit once the server closes", 5_000)
      yield* s.openai.persist(undefined)
      yield* gate.open
      const answered = yield* Fiber.join(first)
      assert.strictEqual(answered.meta.model, "gpt-4o-mini", "the call holding the permit is answered")
      return { result, received: chatCalls(yield* s.openai.requests), requestsUsed: yield* requestsUsed }
    }).pipe(Effect.provide(s.layer))
  })

const assertShuttingDown = (result: Either.Either<unknown, { readonly _tag: string }>) => {
  assert.isTrue(Either.isLeft(result), "the waiting request failed")
  if (Either.isLeft(result)) {
    const error = result.left as { _tag: string; message: string }
    assert.strictEqual(error._tag, "ShuttingDown", error.message)
    assert.include(error.message, "shutting down")
    assert.include(error.message, "not sent")
  }
}

describe("Shutdown while a request waits for a concurrency permit", () => {
  it.scoped("complete: it fails at once, never sent, its reservation given back", () =>
    Effect.gen(function* () {
      const { received, requestsUsed, result } = yield* closeWhileWaitingForPermit(
        (gateway, options) => gateway.complete(ask("second, waiting for the permit"), defaultRequirements, options)
      )
      assertShuttingDown(result)
      assert.strictEqual(received, 1, "only the call holding the permit reached the provider")
      assert.strictEqual(requestsUsed, 1, "the call never sent is out of the limiter's window")
    }), 60_000)

  it.scoped("streamed: it fails at once, never sent, its reservation given back", () =>
    Effect.gen(function* () {
      const { received, requestsUsed, result } = yield* closeWhileWaitingForPermit(
        (gateway, options) => gateway.stream({ ...ask("second, streamed, waiting for the permit"), stream: true }, defaultRequirements, options)
      )
      assertShuttingDown(result)
      assert.strictEqual(received, 1, "only the call holding the permit reached the provider")
      assert.strictEqual(requestsUsed, 1, "the stream never sent is out of the limiter's window")
    }), 60_000)
})
