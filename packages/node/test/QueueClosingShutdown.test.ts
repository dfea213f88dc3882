/**
 * The server shuts down (SIGTERM) while requests wait in the queue for a
 * rate-limited model: `RequestOptions.closing` completes, and each waiter
 * fails at once with `ShuttingDown` (never sent), rather than
 * waiting out `failover.queueDeadlineMs` past the shutdown grace, to have its
 * connection cut unanswered. A request already running is not affected.
 *
 * Time is `TestClock`, pinned at noon UTC (real socket I/O to the fakes is waited for in real time).
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Deferred, Effect, Either, Fiber, TestClock } from "effect"
import { ask, endsWithClockStill, models, noonUtc, stack } from "./fixture.js"
import { settledIntoQueue } from "./reloadFixture.js"

const chatCalls = (requests: ReadonlyArray<{ readonly path: string }>) => requests.filter((r) => r.path.endsWith("/chat/completions")).length

describe("Shutdown while requests wait in the queue", () => {
  it.scoped("waiters fail at once with ShuttingDown when the server starts closing, and are never sent", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(noonUtc)
      const m = models({ rpm: 1 })
      const s = yield* stack({
        models: { ...m, models: [{ ...m.models[0]!, fallbacks: [] }] },
        gateway: { cache: { enabled: false }, failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 30_000, queueCapacity: 10 } }
      })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const closing = yield* Deferred.make<void>()
        const options = { closing: Deferred.await(closing) }
        yield* gateway.complete(ask("takes the minute's only request"), defaultRequirements, options)
        const waiters = yield* Effect.forEach(
          ["CRITICAL", "LOW"] as const,
          (priority) => Effect.fork(Effect.either(gateway.complete(ask(`waits ${priority}`), { ...defaultRequirements, priority }, options)))
        )
        assert.strictEqual(yield* settledIntoQueue(waiters), 0, "both wait in the queue")
        yield* TestClock.adjust("2 seconds")
        yield* Deferred.succeed(closing, undefined)
        for (const waiter of waiters) {
          const result = yield* endsWithClockStill(Fiber.join(waiter), "a queued request once the server closes")
          assert.isTrue(Either.isLeft(result))
          if (Either.isLeft(result)) {
            const error = result.left as { _tag: string; message: string }
            assert.strictEqual(error._tag, "ShuttingDown")
            assert.include(error.message, "shutting down")
          }
        }
        assert.strictEqual(chatCalls(yield* s.openai.requests), 1, "only the request before the shutdown was sent")
      }).pipe(Effect.provide(s.layer))
    }), 60_000)
})
