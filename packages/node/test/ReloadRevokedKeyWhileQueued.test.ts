/**
 * A virtual key removed by a reload while its request waits in the queue:
 * revoking a key is a security expectation, so that request is never sent
 * (it fails with `KeyRevoked` at the queue's next look, a 401 over HTTP),
 * while a request of a key the reload kept is served as before. The queue
 * asks the request's `keyRevoked` (over HTTP, the auth as the reload left
 * it); here it follows the keys the test's reload writes.
 *
 * Time is `TestClock`, pinned at noon UTC; waiting is observed as the queue's
 * sleep on it (real socket I/O to the fakes is waited for in real time).
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Effect, Either, Fiber, TestClock } from "effect"
import { ask, models, noonUtc, stack } from "./fixture.js"
import { reload, settledIntoQueue, writeGateway } from "./reloadFixture.js"

const revoked = "a".repeat(64)
const kept = "b".repeat(64)
const keys = (digests: ReadonlyArray<string>) => ({ virtualKeys: digests.map((sha256, i) => ({ name: `team-${i}-${sha256[0]}`, sha256 })) })
const registry = (rpm: number) => {
  const m = models({ rpm })
  return { ...m, models: [{ ...m.models[0]!, fallbacks: [] }] }
}
const failover = { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 120_000, queueCapacity: 10 }
const chatCalls = (requests: ReadonlyArray<{ readonly path: string }>) => requests.filter((r) => r.path.endsWith("/chat/completions")).length

describe("a virtual key revoked by a reload while its request waits in the queue", () => {
  it.scoped("its request fails with KeyRevoked at the next look and is never sent; a kept key's is served", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(noonUtc)
      const s = yield* stack({ models: registry(1), gateway: { cache: { enabled: false }, failover, auth: keys([revoked, kept]) } })
      // The keys in force, as the HTTP server's auth follows them across the reload.
      const inForce = new Set([revoked, kept])
      const keyRevoked = (digest: string) => () => !inForce.has(digest)
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        yield* gateway.complete(ask("takes the minute's only request"), defaultRequirements)
        const gone = yield* Effect.fork(Effect.either(gateway.complete(ask("revoked key"), defaultRequirements, { keyRevoked: keyRevoked(revoked) })))
        const stays = yield* Effect.fork(Effect.either(gateway.complete(ask("kept key"), defaultRequirements, { keyRevoked: keyRevoked(kept) })))
        assert.strictEqual(yield* settledIntoQueue([gone, stays]), 0, "both wait: the model is full")
        // The revoked key goes; the model gets room for both waiters.
        yield* writeGateway(s, { cache: { enabled: false }, failover, auth: keys([kept]) })
        yield* reload
        inForce.delete(revoked)
        yield* TestClock.adjust("90 seconds")
        const goneResult = yield* Fiber.join(gone)
        assert.isTrue(Either.isLeft(goneResult), "the revoked key's request is not served")
        if (Either.isLeft(goneResult)) assert.strictEqual((goneResult.left as { _tag: string })._tag, "KeyRevoked")
        const staysResult = yield* Fiber.join(stays)
        assert.isTrue(Either.isRight(staysResult), Either.isLeft(staysResult) ? (staysResult.left as Error).message : "")
        assert.strictEqual(chatCalls(yield* s.openai.requests), 2, "the first request and the kept key's only")
      }).pipe(Effect.provide(s.layer))
    }), 30_000)
})
