/**
 * A request whose client leaves while its call waits for a concurrency
 * permit (`providers.<name>.maxConcurrency`): the call was never sent, so it
 * sends nothing, even once a permit frees. A complete call runs on after its
 * client left only once the provider has it (`AttemptSteps.leftBehind`); one
 * still queued gives its permit back unsent (`CallContext.stillWanted`): no
 * request at the provider, no cost, no budget spent, out of the limiter's
 * window and of the model's figures (recorded `NotSent`). A stream is
 * interrupted with its client: it sends nothing either, and its interrupted
 * wait tells the gateway so (`CallContext.onNotSent`): its reservation is
 * given back, recorded `NotSent` as well. A call that holds its
 * permit when its client leaves runs on and is billed as before.
 */
import { assert, describe, it } from "@effect/vitest"
import { CostTracker } from "@modelgate/core/CostTracker"
import { Gateway } from "@modelgate/core/Gateway"
import { ModelRegistry } from "@modelgate/core/ModelRegistry"
import { RateLimiter } from "@modelgate/core/RateLimiter"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Fault } from "@modelgate/testkit/FakeServer"
import Database from "better-sqlite3"
import { Effect, Exit, Fiber, TestClock } from "effect"
import { ask, costRows, models, noonUtc, poll, stack } from "./fixture.js"

/** The fixture's models, gpt-4o-mini at one call in flight (`rateLimits.concurrency: 1`). */
const oneAtATime = () => {
  const base = models()
  const [mini, ...rest] = base.models
  return { ...base, models: [{ ...mini!, rateLimits: { ...mini!.rateLimits, concurrency: 1 } }, ...rest] }
}

/** Every performance record in the SQLite file `db`, in order, as [model, success, error class]. */
const performanceRows = (db: string) => {
  const conn = new Database(db, { readonly: true })
  try {
    return conn.prepare("SELECT model, success, error_class FROM performance_records ORDER BY at, id").all()
  } finally {
    conn.close()
  }
}

/**
 * On the fakes with gpt-4o-mini at one call in flight: a first complete call
 * held at the fake (it holds the permit), then `second` forked; once the
 * second holds its reservations (queued for the permit), its client leaves.
 * The first is then answered, and the second's call left to end (its budget
 * hold settled or given back). Returns the requests the fake received, the
 * requests in gpt-4o-mini's window, and the SQLite file (the layer closed:
 * its records written).
 */
const leaveWhileQueued = (second: (gateway: Gateway["Type"]) => Effect.Effect<unknown, unknown>) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(noonUtc)
    const s = yield* stack({ models: oneAtATime(), gateway: { budgets: { global: { daily: 10 } }, cache: { enabled: false } } })
    const used = yield* Effect.gen(function* () {
      const gateway = yield* Gateway
      const costs = yield* CostTracker
      const mini = yield* Effect.flatMap(ModelRegistry, (r) => r.get("gpt-4o-mini"))
      const limiter = yield* RateLimiter
      const requestsUsed = Effect.map(limiter.headroom(mini, 1, undefined, true), (h) => h.requestsUsed)
      const gate = yield* Effect.makeLatch(false)
      yield* s.openai.persist(Fault.hold(gate))
      const first = yield* Effect.fork(gateway.complete(ask("first, holding the permit"), defaultRequirements))
      yield* s.openai.awaitHeld(1)
      const queued = yield* Effect.fork(second(gateway))
      // Its reservations taken: it is past the ranking, at (or on its way to) the provider's permit.
      yield* poll(requestsUsed, (n) => n === 2, 10_000, "the second request's reservation")
      assert.isTrue(Exit.isInterrupted(yield* Fiber.interrupt(queued)), "the client is gone at once")
      yield* s.openai.persist(undefined)
      yield* gate.open
      const answered = yield* Fiber.join(first)
      assert.strictEqual(answered.meta.model, "gpt-4o-mini")
      // The second's call ended (sent and answered, or given back unsent): no budget is held any more.
      yield* poll(
        Effect.map(costs.budgetStatus, (all) => all.find((b) => b.budget === "global" && b.period === "daily")?.reservedPicoUsd),
        (reserved) => reserved === 0n,
        10_000,
        "the second call to end"
      )
      return yield* requestsUsed
    }).pipe(Effect.provide(s.layer))
    return { received: (yield* s.openai.requests).length, requestsUsed: used, db: s.db }
  })

describe("a request whose client leaves while its call waits for a concurrency permit", () => {
  it.scoped("complete: the call is not sent once the permit frees; nothing charged, nothing in the model's figures", () =>
    Effect.gen(function* () {
      const { db, received, requestsUsed } = yield* leaveWhileQueued(
        (gateway) => gateway.complete(ask("second, queued, then gone"), defaultRequirements)
      )
      assert.strictEqual(received, 1, "the provider got only the call that held the permit")
      assert.strictEqual(requestsUsed, 1, "the call never sent is out of the limiter's window")
      // The layer is closed: the writer flushed.
      assert.deepStrictEqual(costRows(db).map((r) => r.model), ["gpt-4o-mini"], "one cost record: the answered call's")
      assert.deepStrictEqual(performanceRows(db), [
        { model: "gpt-4o-mini", success: 1, error_class: null },
        { model: "gpt-4o-mini", success: 0, error_class: "NotSent" }
      ])
    }), 60_000)

  it.scoped("streamed: the call is interrupted with its client, sends nothing and gives its reservation back", () =>
    Effect.gen(function* () {
      const { db, received, requestsUsed } = yield* leaveWhileQueued(
        (gateway) => gateway.stream({ ...ask("second, streamed, queued, then gone"), stream: true }, defaultRequirements)
      )
      assert.strictEqual(received, 1, "the provider got only the call that held the permit")
      assert.strictEqual(requestsUsed, 1, "the stream never sent is out of the limiter's window")
      assert.deepStrictEqual(costRows(db).map((r) => r.model), ["gpt-4o-mini"], "one cost record: the answered call's")
      assert.deepStrictEqual(performanceRows(db), [
        { model: "gpt-4o-mini", success: 0, error_class: "NotSent" },
        { model: "gpt-4o-mini", success: 1, error_class: null }
      ])
    }), 60_000)
})
