import { assert, describe, it } from "@effect/vitest"
import { CostTracker } from "@modelgate/core/CostTracker"
import { Gateway } from "@modelgate/core/Gateway"
import { ModelRegistry } from "@modelgate/core/ModelRegistry"
import { RateLimiter } from "@modelgate/core/RateLimiter"
import * as GatewayLive from "@modelgate/node/GatewayLive"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Fault } from "@modelgate/testkit/FakeServer"
import * as FakeOpenAi from "@modelgate/testkit/FakeOpenAi"
import Database from "better-sqlite3"
import { Chunk, ConfigProvider, Effect, Either, Layer, Stream, TestClock } from "effect"
import { ask, endsWithClockStill, poll, recordEvents, stack } from "./fixture.js"

const costRows = (db: string) => {
  const conn = new Database(db, { readonly: true })
  try {
    return conn.prepare("SELECT model, cache_hit FROM cost_records ORDER BY at, id").all() as Array<{ model: string; cache_hit: number }>
  } finally {
    conn.close()
  }
}

describe("GatewayLive over the fake providers", () => {
  it.scopedLive("answers, then serves the identical request from the cache without a provider call", () =>
    Effect.gen(function* () {
      const s = yield* stack({ gateway: { cache: { enabled: true, cacheNonDeterministic: true }, evaluator: { enabled: true } } })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const first = yield* gateway.complete(ask("What is two plus two?"), defaultRequirements)
        assert.strictEqual(first.meta.model, "gpt-4o-mini")
        assert.strictEqual(first.meta.provider, "openai")
        assert.isFalse(first.meta.cacheHit)
        assert.isAbove(first.meta.costUsd ?? 0, 0)
        assert.include(first.response.choices[0].message.content ?? "", "two plus two")
        // Named after the gateway's request, not the provider's answer (as streams and cache hits are).
        assert.strictEqual(first.response.id, `chatcmpl-${first.meta.requestId}`)
        const second = yield* gateway.complete(ask("What is two plus two?"), defaultRequirements)
        assert.isTrue(second.meta.cacheHit)
        assert.strictEqual(second.response.id, `chatcmpl-${second.meta.requestId}`)
        assert.notStrictEqual(second.meta.requestId, first.meta.requestId)
        assert.strictEqual(second.meta.costUsd, 0)
        assert.deepStrictEqual(second.response.choices, first.response.choices)
        const sent = yield* s.openai.requests
        assert.strictEqual(sent.filter((r) => r.path.endsWith("/chat/completions")).length, 1)
      }).pipe(Effect.provide(s.layer))
      // the layer is closed: the record writer flushed on the way out
      const rows = costRows(s.db)
      assert.deepStrictEqual(rows.map((r) => [r.model, r.cache_hit]), [["gpt-4o-mini", 0], ["gpt-4o-mini", 1]])
    }))

  it.scopedLive("fails over from a failing model to its fallback and says so", () =>
    Effect.gen(function* () {
      const s = yield* stack()
      yield* s.openai.persist(Fault.status(500))
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const events = yield* recordEvents // subscribed before the request
        const answer = yield* gateway.complete(ask("hello there"), defaultRequirements)
        assert.strictEqual(answer.meta.model, "claude-haiku")
        assert.strictEqual(answer.meta.failovers, 1)
        const failover = yield* events.waitFor("Failover")
        assert.strictEqual(failover.from, "gpt-4o-mini")
        assert.strictEqual(failover.to, "claude-haiku")
      }).pipe(Effect.provide(s.layer))
    }))

  it.scopedLive("a permanent error is not retried on another model", () =>
    Effect.gen(function* () {
      const s = yield* stack()
      yield* s.openai.script(FakeOpenAi.faults.contentFilter)
      const result = yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        return yield* Effect.either(gateway.complete(ask("x", "gpt-4o-mini"), defaultRequirements))
      }).pipe(Effect.provide(s.layer))
      assert.isTrue(Either.isLeft(result) && result.left._tag === "ContentFiltered")
      assert.strictEqual((yield* s.anthropic.requests).length, 0)
    }))

  it.scopedLive("context length exceeded moves to the fallback with a larger window", () =>
    Effect.gen(function* () {
      const s = yield* stack()
      yield* s.openai.script(FakeOpenAi.faults.contextLength)
      const answer = yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        return yield* gateway.complete(ask("a long prompt", "gpt-4o-mini"), defaultRequirements)
      }).pipe(Effect.provide(s.layer))
      assert.strictEqual(answer.meta.model, "claude-haiku")
    }))

  it.scopedLive("streams chunks with a final usage chunk, and a cut stream fails instead of ending cleanly", () =>
    Effect.gen(function* () {
      const s = yield* stack()
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const ok = yield* gateway.stream(ask("stream me please", "gpt-4o-mini", { stream: true }), defaultRequirements)
        const chunks = yield* Stream.runCollect(ok.chunks)
        const text = Chunk.toReadonlyArray(chunks).map((c) => c.choices[0]?.delta.content ?? "").join("")
        assert.include(text, "stream me please")
        assert.isDefined(Chunk.toReadonlyArray(chunks).find((c) => c.usage != null))
        assert.deepStrictEqual([...new Set(Chunk.toReadonlyArray(chunks).map((c) => c.id))], [`chatcmpl-${ok.meta.requestId}`])
        // The cut comes once the stream has begun (in the same read as the first text, it would fail over).
        const later = yield* Effect.makeLatch(false)
        yield* s.openai.script(Fault.cut(3, later))
        const cut = yield* gateway.stream(ask("stream me again", "gpt-4o-mini", { stream: true }), defaultRequirements)
        yield* later.open
        const result = yield* Effect.either(Stream.runCollect(cut.chunks))
        assert.isTrue(Either.isLeft(result))
        if (Either.isLeft(result)) assert.strictEqual(result.left._tag, "StreamInterrupted")
      }).pipe(Effect.provide(s.layer))
    }))

  it.scopedLive("a stream's cost is known once it has ended, and is the cost recorded for it", () =>
    Effect.gen(function* () {
      const s = yield* stack()
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const answer = yield* gateway.stream({ ...ask("count to three"), stream: true }, defaultRequirements)
        assert.isUndefined(answer.meta.costUsd)
        assert.isUndefined(answer.settledCostUsd?.(), "not before the stream ended")
        yield* Stream.runDrain(answer.chunks)
        const settled = answer.settledCostUsd?.()
        assert.isAbove(settled ?? 0, 0)
        return settled
      }).pipe(
        Effect.provide(s.layer),
        Effect.map((settled) => {
          // the layer is closed: the record writer flushed on the way out
          const conn = new Database(s.db, { readonly: true })
          try {
            const rows = conn.prepare("SELECT cost_pico FROM cost_records").all() as Array<{ cost_pico: number }>
            assert.deepStrictEqual(rows.map((r) => r.cost_pico / 1e12), [settled])
          } finally {
            conn.close()
          }
        })
      )
    }))

  it.scopedLive("explicit unknown model fails with ModelNotFound", () =>
    Effect.gen(function* () {
      const s = yield* stack()
      const result = yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        return yield* Effect.either(gateway.complete(ask("x", "no-such-model"), defaultRequirements))
      }).pipe(Effect.provide(s.layer))
      assert.isTrue(Either.isLeft(result) && result.left._tag === "ModelNotFound")
    }))

  // TestClock, never moved: the request must end without waiting on the clock (the queue would hold it up to 30 s of it)
  it.scoped("without provider keys a request fails at once, naming the variables to set", () =>
    Effect.gen(function* () {
      const s = yield* stack({ gateway: { failover: { queueDeadlineMs: 30_000 } } })
      const noKeys = GatewayLive.layerWith({ configDirectory: s.dir, watch: false }).pipe(
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map())))
      )
      const result = yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        return yield* endsWithClockStill(Effect.either(gateway.complete(ask("hello"), defaultRequirements)), "the request")
      }).pipe(Effect.provide(noKeys))
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left._tag, "NoEligibleModel")
        assert.include(result.left.message, "OPENAI_API_KEY")
        assert.include(result.left.message, "ANTHROPIC_API_KEY")
      }
      assert.strictEqual((yield* s.openai.requests).length, 0)
    }))

  it.scopedLive("when every candidate fails, the error also names the models left out and why", () =>
    Effect.gen(function* () {
      const s = yield* stack()
      yield* s.openai.persist(Fault.status(500))
      const onlyOpenAi = GatewayLive.layerWith({ configDirectory: s.dir, watch: false }).pipe(
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["OPENAI_API_KEY", "sk-test-openai"]]))))
      )
      const result = yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        return yield* Effect.either(gateway.complete(ask("hello"), defaultRequirements))
      }).pipe(Effect.provide(onlyOpenAi))
      assert.isTrue(Either.isLeft(result) && result.left._tag === "AllCandidatesFailed")
      if (Either.isLeft(result)) {
        assert.include(result.left.message, "gpt-4o-mini: ServerError")
        assert.include(result.left.message, "claude-haiku: NotEligible")
        assert.include(result.left.message, "ANTHROPIC_API_KEY")
      }
    }))

  it.scopedLive("a stream request is served from the cache as a replayed stream, without a provider call", () =>
    Effect.gen(function* () {
      const s = yield* stack({ gateway: { cache: { enabled: true } } })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const question = ask("cache me", "gpt-4o-mini", { temperature: 0 })
        const first = yield* gateway.complete(question, defaultRequirements)
        const replayed = yield* gateway.stream({ ...question, stream: true }, defaultRequirements)
        assert.isTrue(replayed.meta.cacheHit)
        const chunks = Chunk.toReadonlyArray(yield* Stream.runCollect(replayed.chunks))
        const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")
        assert.strictEqual(text, first.response.choices[0].message.content)
        assert.strictEqual(chunks.filter((c) => c.choices[0]?.finish_reason === "stop").length, 1)
        assert.strictEqual((yield* s.openai.requests).filter((r) => r.path.endsWith("/chat/completions")).length, 1)
      }).pipe(Effect.provide(s.layer))
    }))

  it.scoped("a streamed answer nobody reads is abandoned after 30 s: nothing is left held, what the provider began is charged", () =>
    Effect.gen(function* () {
      const s = yield* stack({ gateway: { budgets: { global: { daily: 10 } } } })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const limiter = yield* RateLimiter
        const costs = yield* CostTracker
        const registry = yield* ModelRegistry
        const model = yield* registry.get("gpt-4o-mini")
        const global = Effect.map(costs.budgetStatus, (all) => all.find((b) => b.budget === "global")!)
        yield* gateway.stream(ask("never read", "gpt-4o-mini", { stream: true }), defaultRequirements)
        assert.strictEqual((yield* limiter.headroom(model, 1)).requestsUsed, 1)
        assert.isAbove(Number((yield* global).reservedPicoUsd), 0)
        yield* TestClock.adjust("31 seconds")
        // The provider answered and began streaming: it counted the request and bills what it began.
        const settled = yield* poll(global, (b) => b.reservedPicoUsd === 0n)
        assert.isAbove(Number(settled.spentPicoUsd), 0)
        assert.strictEqual((yield* limiter.headroom(model, 1)).requestsUsed, 1)
      }).pipe(Effect.provide(s.layer))
    }))

  it.scopedLive("a stream that ends cleanly is cached like a complete answer", () =>
    Effect.gen(function* () {
      const s = yield* stack({ gateway: { cache: { enabled: true } } })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const question = ask("stream then cache", "gpt-4o-mini", { temperature: 0 })
        const streamed = yield* gateway.stream({ ...question, stream: true }, defaultRequirements)
        const chunks = Chunk.toReadonlyArray(yield* Stream.runCollect(streamed.chunks))
        const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")
        const again = yield* gateway.complete(question, defaultRequirements)
        assert.isTrue(again.meta.cacheHit)
        assert.strictEqual(again.response.choices[0].message.content, text)
        assert.strictEqual(again.response.choices[0].finish_reason, "stop")
        assert.strictEqual((yield* s.openai.requests).filter((r) => r.path.endsWith("/chat/completions")).length, 1)
      }).pipe(Effect.provide(s.layer))
    }))

  it.scopedLive("a stream cut mid-way is not cached", () =>
    Effect.gen(function* () {
      const s = yield* stack({ gateway: { cache: { enabled: true } } })
      // The cut comes once the stream has begun (in the same read as the first text, it would fail over).
      const later = yield* Effect.makeLatch(false)
      yield* s.openai.script(Fault.cut(3, later))
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const question = ask("cut then ask again", "gpt-4o-mini", { temperature: 0 })
        const cut = yield* gateway.stream({ ...question, stream: true }, defaultRequirements)
        yield* later.open
        assert.isTrue(Either.isLeft(yield* Effect.either(Stream.runCollect(cut.chunks))))
        const again = yield* gateway.complete(question, defaultRequirements)
        assert.isFalse(again.meta.cacheHit)
      }).pipe(Effect.provide(s.layer))
    }))
})

