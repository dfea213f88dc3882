/**
 * Budget holds and limiter reservations across a stream's life and across
 * failover, on the live stack: a stream's worst-case hold stays until the
 * stream ends and is then settled to its real usage once; a stream that
 * breaks before any of the answer fails over, releasing the first model's
 * hold (the provider still counted its request) and holding on the next; a
 * complete answer that fails over is charged to the model that served it,
 * against that model's budget.
 */
import { assert, describe, it } from "@effect/vitest"
import { CostTracker } from "@modelgate/core/CostTracker"
import { Gateway } from "@modelgate/core/Gateway"
import { ModelRegistry } from "@modelgate/core/ModelRegistry"
import { RateLimiter } from "@modelgate/core/RateLimiter"
import type { ChatChunk } from "@modelgate/domain/Chat"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Chunk, Effect, Exit, Stream, TestClock } from "effect"
import { ask, noonUtc, stack } from "./fixture.js"

const failover = { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0 }
const budgets = { global: { daily: 10 }, perModel: { "gpt-4o-mini": { daily: 5 }, "claude-haiku": { daily: 5 } } }

/** Spent and held on one daily budget (`global`, `model:<id>`). */
const daily = (name: string) =>
  Effect.flatMap(CostTracker, (costs) =>
    Effect.map(costs.budgetStatus, (all) => {
      const b = all.find((x) => x.budget === name && x.period === "daily")!
      return { spent: b.spentPicoUsd, reserved: b.reservedPicoUsd }
    }))

/** `run` on a fresh stack (no cache, failover at once, `budgets`) at noon UTC. */
const onStack = <A, E>(run: (s: Effect.Effect.Success<ReturnType<typeof stack>>) => Effect.Effect<A, E, Gateway | CostTracker | ModelRegistry | RateLimiter>) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(noonUtc)
    const s = yield* stack({ gateway: { cache: { enabled: false }, failover, budgets } })
    return yield* run(s).pipe(Effect.provide(s.layer))
  })

const limiterUse = (id: string) =>
  Effect.gen(function* () {
    const model = yield* (yield* ModelRegistry).get(id)
    const h = yield* (yield* RateLimiter).headroom(model, 1)
    return { requests: h.requestsUsed, tokens: h.tokensUsed }
  })

describe("Budget holds across streams and failover", () => {
  it.scoped("a stream's hold stays until its end (not its first chunk), then is settled once to its real usage", () =>
    onStack(() =>
      Effect.gen(function* () {
        const gateway = yield* Gateway
        const answer = yield* gateway.stream(ask("hold until the end", "gpt-4o-mini", { stream: true, max_tokens: 200 }), defaultRequirements)
        const pull = answer.open!()
        const first = yield* pull.pull
        assert.isAbove(Chunk.size(first), 0)
        const during = yield* daily("global")
        assert.isAbove(Number(during.reserved), 0, "the hold was let go at the first chunk")
        assert.strictEqual(during.spent, 0n)
        const rest: Array<ChatChunk> = [...first]
        while (true) {
          const next = yield* Effect.either(pull.pull)
          if (next._tag === "Left") break
          rest.push(...next.right)
        }
        yield* pull.close(Exit.void)
        // closing twice settles nothing more
        yield* pull.close(Exit.void)
        const usage = rest.find((c) => c.usage != null)?.usage
        assert.isDefined(usage)
        const after = yield* daily("global")
        assert.strictEqual(after.reserved, 0n)
        assert.isAbove(Number(after.spent), 0)
        assert.strictEqual(after.spent, (yield* daily("model:gpt-4o-mini")).spent)
        assert.closeTo(Number(after.spent) / 1e12, answer.settledCostUsd!()!, 1e-12)
        // the limiter holds the real token count, not the estimate
        assert.deepStrictEqual(yield* limiterUse("gpt-4o-mini"), { requests: 1, tokens: usage!.total_tokens })
      })), 20_000)

  it.scoped("a stream that breaks before any of the answer fails over: the first hold is released, the next model holds and is charged", () =>
    onStack((s) =>
      Effect.gen(function* () {
        const gateway = yield* Gateway
        // OpenAI's first chunk carries only the role: cut after it, before any content
        yield* s.openai.script(Fault.cut(1))
        const answer = yield* gateway.stream(ask("break before content", "gpt-4o-mini", { stream: true, max_tokens: 200 }), defaultRequirements)
        assert.strictEqual(answer.meta.model, "claude-haiku")
        assert.strictEqual(answer.meta.failovers, 1)
        const during = yield* daily("model:claude-haiku")
        assert.isAbove(Number(during.reserved), 0)
        assert.deepStrictEqual(yield* daily("model:gpt-4o-mini"), { spent: 0n, reserved: 0n })
        const chunks = Chunk.toReadonlyArray(yield* Stream.runCollect(answer.chunks))
        const usage = chunks.find((c) => c.usage != null)?.usage
        assert.isDefined(usage)
        const global = yield* daily("global")
        assert.strictEqual(global.reserved, 0n)
        assert.isAbove(Number(global.spent), 0)
        assert.deepStrictEqual(yield* daily("model:claude-haiku"), global)
        assert.deepStrictEqual(yield* daily("model:gpt-4o-mini"), { spent: 0n, reserved: 0n })
        // the provider answered the first request (a 200 that broke): it counted it
        assert.strictEqual((yield* limiterUse("gpt-4o-mini")).requests, 1)
        assert.deepStrictEqual(yield* limiterUse("claude-haiku"), { requests: 1, tokens: usage!.total_tokens })
      })), 20_000)

  it.scoped("a complete answer after failover is charged to the model that served it, against its own budget", () =>
    onStack((s) =>
      Effect.gen(function* () {
        const gateway = yield* Gateway
        yield* s.openai.script(Fault.status(500))
        const answer = yield* gateway.complete(ask("fail over", "gpt-4o-mini", { max_tokens: 200 }), defaultRequirements)
        assert.strictEqual(answer.meta.model, "claude-haiku")
        const global = yield* daily("global")
        assert.strictEqual(global.reserved, 0n)
        assert.closeTo(Number(global.spent) / 1e12, answer.meta.costUsd!, 1e-12)
        assert.deepStrictEqual(yield* daily("model:claude-haiku"), global)
        assert.deepStrictEqual(yield* daily("model:gpt-4o-mini"), { spent: 0n, reserved: 0n })
        // the 500 was a request the provider counted, with no tokens
        assert.deepStrictEqual(yield* limiterUse("gpt-4o-mini"), { requests: 1, tokens: 0 })
        assert.deepStrictEqual(yield* limiterUse("claude-haiku"), { requests: 1, tokens: answer.response.usage.total_tokens })
      })), 20_000)

  it.scoped("a stream that ends before its first chunk fails over; the provider answered it, so it counts in the first model's requests", () =>
    onStack((s) =>
      Effect.gen(function* () {
        const gateway = yield* Gateway
        yield* s.openai.script(Fault.cut(0))
        const answer = yield* gateway.stream(ask("no chunk at all", "gpt-4o-mini", { stream: true, max_tokens: 200 }), defaultRequirements)
        assert.strictEqual(answer.meta.model, "claude-haiku")
        yield* Stream.runDrain(answer.chunks)
        assert.deepStrictEqual(yield* daily("model:gpt-4o-mini"), { spent: 0n, reserved: 0n })
        assert.strictEqual((yield* daily("global")).reserved, 0n)
        assert.deepStrictEqual(yield* limiterUse("gpt-4o-mini"), { requests: 1, tokens: 0 })
      })), 20_000)
})
