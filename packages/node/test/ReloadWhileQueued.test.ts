/**
 * Reloads while requests wait in the bounded priority queue: a larger
 * `failover.queueCapacity` holds from the next request on (as every
 * `failover.*` value), and a model removed or disabled in `models.json`
 * never serves a request that was waiting for it: a request named for it
 * fails with a typed error at the queue's next look (not at its deadline),
 * and an `auto` one is re-ranked onto a model that can serve it. A named
 * model's `fallbacks` changed in `models.json` hold for its waiters.
 *
 * Time is `TestClock`, pinned at noon UTC; waiting is observed as the queue's
 * sleep on it (real socket I/O to the fakes is waited for in real time).
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Effect, Either, Exit, Fiber, Option, TestClock } from "effect"
import { ask, models, noonUtc, poll, stack } from "./fixture.js"
import { reload, settledIntoQueue, writeGateway, writeModels } from "./reloadFixture.js"

/** gpt-4o-mini (no fallbacks) and claude-haiku, each `rpm` a minute; `edit` changes gpt-4o-mini's entry. */
const registry = (rpm: number, edit?: (mini: Record<string, unknown>) => Record<string, unknown> | undefined) => {
  const m = models({ rpm })
  const mini = { ...m.models[0]!, fallbacks: [] }
  const haiku = { ...m.models[1]!, rateLimits: { rpm, tpm: 50_000 } }
  const edited = edit === undefined ? mini : edit(mini)
  return { ...m, models: edited === undefined ? [haiku] : [edited, haiku] }
}

const failover = (queueCapacity: number) => ({ backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 30_000, queueCapacity })
const chatCalls = (requests: ReadonlyArray<{ readonly path: string }>) => requests.filter((r) => r.path.endsWith("/chat/completions")).length

describe("Reload while requests wait in the queue", () => {
  it.scoped("a larger failover.queueCapacity holds for the next waiters", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(noonUtc)
      const s = yield* stack({ models: registry(1), gateway: { cache: { enabled: false }, failover: failover(1) } })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        yield* gateway.complete(ask("takes the minute's only request"), defaultRequirements)
        yield* writeGateway(s, { cache: { enabled: false }, failover: failover(3) })
        yield* reload
        const waiters = yield* Effect.forEach([1, 2, 3], (i) => Effect.fork(Effect.either(gateway.complete(ask(`waits ${i}`), defaultRequirements))))
        const refused = yield* settledIntoQueue(waiters)
        const ended = yield* Effect.forEach(waiters, (f) => f.poll)
        const messages = ended.flatMap((exit) => (Option.isSome(exit) ? [String(Exit.isSuccess(exit.value) && Either.isLeft(exit.value.value) ? (exit.value.value.left as Error).message : exit.value)] : []))
        assert.strictEqual(refused, 0, `refused at once after the capacity was raised to 3: ${messages.join(" | ")}`)
      }).pipe(Effect.provide(s.layer))
    }), 30_000)

  it.scoped("a named model's fallbacks changed in models.json: its waiter is served by the new fallback at the next look", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(noonUtc)
      // gpt-4o-mini: 1 a minute, no fallbacks; claude-haiku: room to spare.
      const withFallbacks = (fallbacks: ReadonlyArray<string>) =>
        registry(50, (mini) => ({ ...mini, rateLimits: { rpm: 1, tpm: 2_000_000 }, fallbacks }))
      const s = yield* stack({ models: withFallbacks([]), gateway: { cache: { enabled: false }, failover: failover(10) } })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        yield* gateway.complete(ask("fills gpt-4o-mini"), defaultRequirements)
        const named = yield* Effect.fork(Effect.either(gateway.complete(ask("named"), defaultRequirements)))
        assert.strictEqual(yield* settledIntoQueue([named]), 0, "the named request waits: gpt-4o-mini is full and has no fallbacks")
        yield* writeModels(s, withFallbacks(["claude-haiku"]))
        yield* reload
        yield* TestClock.adjust("1 second")
        const exit = yield* poll(named.poll, Option.isSome, 10_000, "the named waiter to end after the reload")
        assert.isTrue(Option.isSome(exit) && Exit.isSuccess(exit.value))
        const result = yield* Fiber.join(named)
        assert.isTrue(Either.isRight(result), Either.isLeft(result) ? (result.left as Error).message : "")
        if (Either.isRight(result)) assert.strictEqual(result.right.meta.model, "claude-haiku")
        assert.strictEqual(chatCalls(yield* s.openai.requests), 1, "gpt-4o-mini served only the request before the reload")
      }).pipe(Effect.provide(s.layer))
    }), 30_000)

  for (const change of [
    { name: "removed from models.json", edit: () => undefined, reason: "not in the registry" },
    { name: "disabled in models.json", edit: (mini: Record<string, unknown>) => ({ ...mini, enabled: false }), reason: "disabled" }
  ]) {
    it.scoped(`a model ${change.name}: its waiter fails with NoEligibleModel at the next look, an auto waiter is served by another model`, () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(noonUtc)
        const s = yield* stack({ models: registry(1), gateway: { cache: { enabled: false }, failover: failover(10) } })
        yield* Effect.gen(function* () {
          const gateway = yield* Gateway
          yield* gateway.complete(ask("fills gpt-4o-mini"), defaultRequirements)
          yield* gateway.complete(ask("fills claude-haiku", "claude-haiku"), defaultRequirements)
          const named = yield* Effect.fork(Effect.either(gateway.complete(ask("named"), defaultRequirements)))
          const auto = yield* Effect.fork(Effect.either(gateway.complete(ask("auto", "auto"), defaultRequirements)))
          assert.strictEqual(yield* settledIntoQueue([named, auto]), 0)
          // gpt-4o-mini goes; claude-haiku's limit is raised, so it has room again.
          yield* writeModels(s, registry(50, change.edit))
          yield* reload
          yield* TestClock.adjust("1 second")
          const namedResult = yield* Fiber.join(named)
          assert.isTrue(Either.isLeft(namedResult))
          if (Either.isLeft(namedResult)) {
            const error = namedResult.left as { _tag: string; message: string }
            assert.strictEqual(error._tag, "NoEligibleModel")
            assert.include(error.message, change.reason)
          }
          const autoResult = yield* Fiber.join(auto)
          assert.isTrue(Either.isRight(autoResult), Either.isLeft(autoResult) ? (autoResult.left as Error).message : "")
          if (Either.isRight(autoResult)) assert.strictEqual(autoResult.right.meta.model, "claude-haiku")
          assert.strictEqual(chatCalls(yield* s.openai.requests), 1, "gpt-4o-mini served only the request before the reload")
        }).pipe(Effect.provide(s.layer))
      }), 30_000)
  }
})
