/**
 * A complete call its client leaves while the provider works on it (the
 * gateway's fiber interrupted: the HTTP client hung up): the provider got the
 * request and counts it against the key's requests per minute, so the
 * gateway's window keeps counting it too, with its estimated tokens. Given
 * back instead, every caller that hangs up would let one more request
 * through than the provider allows. So does a call that timed out.
 * The provider also answers it whole and bills it: the call runs on, and its
 * answer is charged to the budget, stored with its cost and cached, so a
 * client whose timeout is shorter than the model's latency cannot spend
 * without limit, and its retry is a cache hit.
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
import { ask, noonUtc, poll, stack } from "./fixture.js"

/**
 * On the fakes: a complete call of `content` held by the OpenAI fake (never
 * answered), given to `then` with the window of gpt-4o-mini (`used`, a dry run).
 */
const heldCall = <A, E>(
  content: string,
  then: (held: {
    readonly call: Fiber.RuntimeFiber<Effect.Effect.Success<ReturnType<Gateway["Type"]["complete"]>>, unknown>
    readonly used: Effect.Effect<{ readonly requestsUsed: number; readonly tokensUsed: number }>
  }) => Effect.Effect<A, E>
) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(noonUtc)
    const s = yield* stack({ gateway: { cache: { enabled: false } } })
    return yield* Effect.gen(function* () {
      const gateway = yield* Gateway
      const mini = yield* Effect.flatMap(ModelRegistry, (r) => r.get("gpt-4o-mini"))
      const limiter = yield* RateLimiter
      const gate = yield* Effect.makeLatch(false)
      yield* s.openai.persist(Fault.hold(gate))
      const call = yield* Effect.fork(gateway.complete(ask(content), defaultRequirements))
      yield* s.openai.awaitHeld(1)
      const result = yield* then({ call, used: limiter.headroom(mini, 1, undefined, true) })
      yield* s.openai.persist(undefined)
      yield* gate.open
      return result
    }).pipe(Effect.provide(s.layer))
  })

describe("a complete call its client left", () => {
  it.scoped("still counts in the model's requests per minute: the provider got it", () =>
    heldCall("hello, then gone", ({ call, used }) =>
      Effect.gen(function* () {
        assert.strictEqual((yield* used).requestsUsed, 1)
        assert.isTrue(Exit.isInterrupted(yield* Fiber.interrupt(call)))
        assert.strictEqual((yield* used).requestsUsed, 1, "the request the provider got is still counted")
        assert.isAbove((yield* used).tokensUsed, 0)
      })))

  it.scoped("a call that timed out counts too: the provider got it, though it never answered in time", () =>
    heldCall("hello, slowly", ({ call, used }) =>
      Effect.gen(function* () {
        // Past the OpenAI timeout (5 s): the gateway fails over to the fallback.
        yield* TestClock.adjust(5_001)
        const answer = yield* Fiber.join(call)
        assert.strictEqual(answer.meta.model, "claude-haiku")
        assert.strictEqual((yield* used).requestsUsed, 1)
      })))

  it.scoped("is charged when the provider answers: its cost stored and spent from the budget, its retry a cache hit", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(noonUtc)
      const s = yield* stack({ gateway: { budgets: { global: { daily: 10 } } } })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const costs = yield* CostTracker
        const gate = yield* Effect.makeLatch(false)
        yield* s.openai.script(Fault.hold(gate))
        const request = ask("hello, then gone", "gpt-4o-mini", { temperature: 0 })
        const call = yield* Effect.fork(gateway.complete(request, defaultRequirements))
        yield* s.openai.awaitHeld(1)
        assert.isTrue(Exit.isInterrupted(yield* Fiber.interrupt(call)), "the client is gone at once")
        yield* gate.open
        // The writer stores records `records.flushIntervalMs` (20 ms) after they arrive: let that time pass.
        const groups = yield* poll(
          Effect.zipRight(TestClock.adjust("20 millis"), costs.costByModel()),
          (gs) => gs.some((g) => g.key === "gpt-4o-mini"),
          5_000,
          "the left call's cost to be stored"
        )
        const stored = groups.find((g) => g.key === "gpt-4o-mini")!
        assert.strictEqual(stored.requests, 1)
        assert.isAbove(Number(stored.costPicoUsd), 0, "the answer the provider billed")
        const global = (yield* costs.budgetStatus).find((b) => b.budget === "global" && b.period === "daily")!
        assert.deepStrictEqual([global.reservedPicoUsd, global.spentPicoUsd], [0n, stored.costPicoUsd])
        const again = yield* gateway.complete(request, defaultRequirements)
        assert.isTrue(again.meta.cacheHit, "the retry gets the answer already paid for")
      }).pipe(Effect.provide(s.layer))
    }), 20_000)

  it.scopedLive("one still running when the gateway shuts down is interrupted, and its record written on the way out", () =>
    Effect.gen(function* () {
      const s = yield* stack({ gateway: { cache: { enabled: false } } })
      const never = yield* Effect.makeLatch(false)
      yield* s.openai.script(Fault.hold(never))
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const call = yield* Effect.fork(gateway.complete(ask("hello, then gone"), defaultRequirements))
        yield* s.openai.awaitHeld(1)
        assert.isTrue(Exit.isInterrupted(yield* Fiber.interrupt(call)))
      }).pipe(Effect.provide(s.layer))
      // The layer is closed (the provider never answered): the call was interrupted and accounted, the writer flushed.
      const conn = new Database(s.db, { readonly: true })
      const rows = conn.prepare("SELECT model, success, error_class FROM performance_records").all()
      conn.close()
      assert.deepStrictEqual(rows, [{ model: "gpt-4o-mini", success: 0, error_class: "Interrupted" }])
    }), 20_000)
})
