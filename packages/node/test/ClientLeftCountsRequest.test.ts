/**
 * A complete call its client leaves while the provider works on it (the
 * gateway's fiber interrupted: the HTTP client hung up): the provider got the
 * request and counts it against the key's requests per minute, so the
 * gateway's window keeps counting it too, with its estimated tokens. Given
 * back instead, every caller that hangs up would let one more request
 * through than the provider allows. So does a call that timed out.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { ModelRegistry } from "@modelgate/core/ModelRegistry"
import { RateLimiter } from "@modelgate/core/RateLimiter"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect, Exit, Fiber, TestClock } from "effect"
import { ask, noonUtc, stack } from "./fixture.js"

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
})
