import { assert, describe, it } from "@effect/vitest"
import { BudgetExceeded, MissingApiKey, RateLimitExceeded } from "@modelgate/domain/Errors"
import type { ModelMetadata } from "@modelgate/domain/Model"
import {
  BadRequest,
  ContentFiltered,
  ContextLengthExceeded,
  RateLimited,
  ServerError,
  Timeout,
  Unauthorized
} from "@modelgate/domain/ProviderError"
import { Chunk, Duration, Effect, Fiber, Ref, Schedule, TestClock } from "effect"
import type { AttemptError } from "../src/Failover.js"
import { candidatesFor, failoverBackoff } from "../src/Failover.js"
import { defaultConfig, FailoverConfig, GatewayConfigData } from "../src/GatewayConfigSchema.js"
import { model, setupFailover } from "./RoutingFixtures.js"

const a = model("a")
const b = model("b")
const c = model("c")

const provider = (m: string) => ({ provider: "openai", model: m, detail: "scripted" })
const serverError = (m: string) => new ServerError({ ...provider(m), status: 500 })

/** An attempt that plays `script[model]` in order ("ok" = success), recording each call. */
const scripted = (script: Record<string, ReadonlyArray<AttemptError | "ok">>) =>
  Effect.gen(function*() {
    const calls = yield* Ref.make<ReadonlyArray<string>>([])
    const attempt = (m: ModelMetadata, n: number): Effect.Effect<string, AttemptError> =>
      Effect.gen(function*() {
        const made = yield* Ref.updateAndGet(calls, (c) => [...c, `${m.id}#${n}`])
        const index = made.filter((x) => x.startsWith(`${m.id}#`)).length - 1
        const step = script[m.id]?.[index] ?? "ok"
        if (step === "ok") return `answer from ${m.id}`
        return yield* Effect.fail(step)
      })
    return { attempt, calls: Ref.get(calls) }
  })

/** Run with zero backoff (no clock needed). */
const noBackoff = { backoffBaseMs: 0, backoffCapMs: 0 }

describe("Failover.run", () => {
  it.effect("answers from the first candidate and reports the success to health", () =>
    Effect.gen(function*() {
      const { events, failover, health } = yield* setupFailover()
      const { attempt } = yield* scripted({})
      const out = yield* failover.run([a, b], attempt)
      assert.strictEqual(out.value, "answer from a")
      assert.strictEqual(out.failovers, 0)
      assert.deepStrictEqual(yield* health.reports, [{ model: "a", ok: true }])
      assert.deepStrictEqual(yield* events.all, [])
    }))

  it.effect("a run that defers the success report (a stream) reports its failures, not its success", () =>
    Effect.gen(function*() {
      const { failover, health } = yield* setupFailover({ failover: noBackoff })
      const { attempt } = yield* scripted({ a: [serverError("a")] })
      const out = yield* failover.run([a, b], attempt, { deferSuccessReport: true })
      assert.strictEqual(out.value, "answer from b")
      assert.deepStrictEqual(yield* health.reports, [{ model: "a", ok: false, errorClass: "ServerError" }])
    }))

  it.effect("moves on after retryable errors, publishing and recording each failover", () =>
    Effect.gen(function*() {
      const { events, failover, health, sink } = yield* setupFailover({ failover: noBackoff })
      const { attempt, calls } = yield* scripted({
        a: [serverError("a")],
        b: [new RateLimited({ ...provider("b"), retryAfterMs: 2_000 })]
      })
      const out = yield* failover.run([a, b, c], attempt, { requestId: "req-1", agentType: "team-a" })
      assert.strictEqual(out.model.id, "c")
      assert.strictEqual(out.failovers, 2)
      assert.deepStrictEqual(out.failures.map((f) => f.tag), ["ServerError", "RateLimited"])
      assert.deepStrictEqual(yield* calls, ["a#1", "b#2", "c#3"])
      const published = (yield* events.all).filter((e) => e._tag === "Failover")
      assert.deepStrictEqual(
        published.map((e) => e._tag === "Failover" ? [e.from, e.to, e.attempt, e.requestId] : []),
        [["a", "b", 2, "req-1"], ["b", "c", 3, "req-1"]]
      )
      assert.include(published[0]!._tag === "Failover" ? published[0]!.reason : "", "ServerError")
      const records = (yield* sink.all).filter((r) => r._tag === "FailoverRecord")
      assert.strictEqual(records.length, 2)
      // The request's agent type: a team's metrics count its own failovers only.
      assert.deepStrictEqual(records.map((r) => (r._tag === "FailoverRecord" ? r.agentType : "")), ["team-a", "team-a"])
      // passive health: ServerError counts, a rate limit does not
      assert.deepStrictEqual(yield* health.reports, [
        { model: "a", ok: false, errorClass: "ServerError" },
        { model: "c", ok: true }
      ])
    }))

  it.effect("waits the failoverBackoff between candidates, on the Clock", () =>
    Effect.gen(function*() {
      const { events, failover } = yield* setupFailover({ failover: { backoffBaseMs: 1_000, backoffCapMs: 1_500 } })
      const { attempt, calls } = yield* scripted({ a: [serverError("a")], b: [serverError("b")] })
      const fiber = yield* Effect.fork(failover.run([a, b, c], attempt))
      yield* TestClock.adjust(Duration.millis(700))
      assert.deepStrictEqual(yield* calls, ["a#1"], "first wait is at least 800 ms (1 s jittered)")
      yield* TestClock.adjust(Duration.millis(600))
      assert.deepStrictEqual(yield* calls, ["a#1", "b#2"])
      yield* TestClock.adjust(Duration.millis(1_500))
      const out = yield* Fiber.join(fiber)
      assert.strictEqual(out.model.id, "c")
      const elapsed = (yield* events.all).flatMap((e) => (e._tag === "Failover" ? [e.elapsedMs] : []))
      assert.isTrue(elapsed[0]! >= 800 && elapsed[0]! <= 1_200, `first failover after ${elapsed[0]} ms`)
      assert.isTrue(elapsed[1]! - elapsed[0]! >= 1_500 * 0.99, "second wait capped at 1.5 s, not 2 s jittered below")
    }))

  it.effect("failoverBackoff is exponential, jittered and capped", () =>
    Effect.gen(function*() {
      const delays = yield* Schedule.run(
        Schedule.delays(failoverBackoff({ backoffBaseMs: 100, backoffCapMs: 1_000 })),
        0,
        [1, 2, 3, 4, 5, 6, 7]
      )
      const ms = Chunk.toReadonlyArray(delays).map(Duration.toMillis)
      ms.forEach((d, i) => {
        const nominal = Math.min(100 * 2 ** i, 1_000)
        assert.isTrue(d <= 1_000, `delay ${d} above cap`)
        assert.isTrue(d >= Math.min(nominal * 0.8, 1_000) - 1e-9 && d <= nominal * 1.2 + 1e-9, `delay ${i}: ${d} vs ${nominal}`)
      })
    }))

  it.effect("never retries BadRequest or ContentFiltered on another model", () =>
    Effect.gen(function*() {
      for (const error of [new BadRequest(provider("a")), new ContentFiltered(provider("a"))]) {
        const { events, failover } = yield* setupFailover({ failover: noBackoff })
        const { attempt, calls } = yield* scripted({ a: [error] })
        const failed = yield* Effect.flip(failover.run([a, b], attempt))
        assert.strictEqual(failed._tag, error._tag)
        assert.deepStrictEqual(yield* calls, ["a#1"])
        assert.deepStrictEqual(yield* events.all, [])
      }
    }))

  it.effect("after ContextLengthExceeded moves only to a larger context window", () =>
    Effect.gen(function*() {
      const small = model("small", { contextWindow: 8_000 })
      const same = model("same", { contextWindow: 8_000 })
      const big = model("big", { contextWindow: 200_000 })
      const { failover } = yield* setupFailover({ failover: noBackoff })
      const { attempt, calls } = yield* scripted({ small: [new ContextLengthExceeded(provider("small"))] })
      const out = yield* failover.run([small, same, big], attempt)
      assert.strictEqual(out.model.id, "big")
      assert.deepStrictEqual(yield* calls, ["small#1", "big#2"])
      assert.deepStrictEqual(out.failures.map((f) => [f.model, f.tag]), [["small", "ContextLengthExceeded"], ["same", "Skipped"]])

      const { failover: again } = yield* setupFailover({ failover: noBackoff })
      const fresh = yield* scripted({ small: [new ContextLengthExceeded(provider("small"))] })
      const error = yield* Effect.flip(again.run([small, same], fresh.attempt))
      assert.strictEqual(error._tag, "ContextLengthExceeded", "no larger window: the permanent error itself")
    }))

  it.effect("Unauthorized sets the key aside and retries the same model with the next key", () =>
    Effect.gen(function*() {
      const { failover, keys } = yield* setupFailover({ failover: noBackoff, keys: { openai: 2 } })
      const seen: Array<string> = []
      const attempt = (m: ModelMetadata) =>
        Effect.gen(function*() {
          const key = yield* keys.service.next(m.provider)
          seen.push(`${m.id}:${key.id}`)
          if (key.id === "openai#1") return yield* new Unauthorized({ ...provider(m.id), status: 401, keyId: key.id })
          return key.id
        })
      const out = yield* failover.run([a, b], attempt)
      assert.strictEqual(out.model.id, "a")
      assert.strictEqual(out.value, "openai#2")
      assert.strictEqual(out.failovers, 0)
      assert.deepStrictEqual(seen, ["a:openai#1", "a:openai#2"])
      assert.deepStrictEqual((yield* keys.aside).map((k) => k.keyId), ["openai#1"])
    }))

  it.effect("with every key of a provider set aside the model counts as unavailable and failover moves on", () =>
    Effect.gen(function*() {
      const { failover, keys } = yield* setupFailover({ failover: noBackoff, keys: { openai: 2, anthropic: 1 } })
      const claude = model("claude", { provider: "anthropic" })
      const attempt = (m: ModelMetadata) =>
        Effect.gen(function*() {
          const key = yield* keys.service.next(m.provider)
          if (m.provider === "openai") return yield* new Unauthorized({ ...provider(m.id), status: 401, keyId: key.id })
          return m.id
        })
      const out = yield* failover.run([a, claude], attempt)
      assert.strictEqual(out.model.id, "claude")
      assert.deepStrictEqual(out.failures.map((f) => f.tag), ["MissingApiKey"])
      assert.strictEqual((yield* keys.aside).length, 2)
    }))

  it.effect("exhausted: AllCandidatesFailed lists every candidate with the earliest retry time", () =>
    Effect.gen(function*() {
      const d = model("d")
      const e = model("e")
      const { failover, sink } = yield* setupFailover({ failover: { ...noBackoff, maxAttempts: 3 } })
      const { attempt, calls } = yield* scripted({
        a: [new RateLimitExceeded({ model: "a", dimension: "requests", retryAfterMs: 9_000 })],
        b: [new MissingApiKey({ provider: "openai", reason: "none configured" })],
        c: [new RateLimited({ ...provider("c"), retryAfterMs: 3_000 })]
      })
      const error = yield* Effect.flip(failover.run([a, b, c, d, e], attempt))
      assert.strictEqual(error._tag, "AllCandidatesFailed")
      if (error._tag !== "AllCandidatesFailed") return
      assert.deepStrictEqual(error.failures.map((f) => [f.model, f.tag]), [
        ["a", "RateLimitExceeded"],
        ["b", "MissingApiKey"],
        ["c", "RateLimited"],
        ["d", "NotTried"],
        ["e", "NotTried"]
      ])
      assert.strictEqual(error.retryAfterMs, 3_000)
      assert.deepStrictEqual(yield* calls, ["a#1", "b#2", "c#3"])
      const last = (yield* sink.all).at(-1)
      assert.isTrue(last?._tag === "FailoverRecord" && last.to === undefined, "a final record without `to`")
    }))

  it.effect("runAt runs on the config it is given, not the service's (the request's config, read once)", () =>
    Effect.gen(function*() {
      const { failover } = yield* setupFailover({ failover: { ...noBackoff, maxAttempts: 3 } })
      const { attempt, calls } = yield* scripted({ a: [serverError("a"), serverError("a")] })
      assert.isDefined(failover.runAt)
      const requestConfig = GatewayConfigData.make({
        ...defaultConfig,
        failover: FailoverConfig.make({ ...defaultConfig.failover, ...noBackoff, maxAttempts: 1 })
      })
      const error = yield* Effect.flip(failover.runAt!(requestConfig, yield* Effect.clock, [a, b], attempt, { requestId: "r" }))
      assert.strictEqual(error._tag, "AllCandidatesFailed")
      if (error._tag !== "AllCandidatesFailed") return
      assert.deepStrictEqual(error.failures.map((f) => [f.model, f.tag]), [["a", "ServerError"], ["b", "NotTried"]])
      assert.deepStrictEqual(yield* calls, ["a#1"])
      const out = yield* failover.run([a, b], attempt)
      assert.strictEqual(out.model.id, "b", "run reads the service's config: 3 attempts")
    }))

  it.effect("fails with BudgetExceeded when every attempt was refused by a budget; empty candidates fail typed", () =>
    Effect.gen(function*() {
      const { failover } = yield* setupFailover({ failover: noBackoff })
      const budget = new BudgetExceeded({ budget: "global", period: "daily", limitUsd: 5, spentUsd: 5 })
      const { attempt } = yield* scripted({ a: [budget], b: [budget] })
      assert.strictEqual((yield* Effect.flip(failover.run([a, b], attempt)))._tag, "BudgetExceeded")
      const none = yield* Effect.flip(failover.run([], attempt))
      assert.strictEqual(none._tag, "AllCandidatesFailed")
    }))

  it.effect("more failovers away from one model than the threshold publishes ExcessiveFailover once per window", () =>
    Effect.gen(function*() {
      const { events, failover } = yield* setupFailover({
        failover: { ...noBackoff, excessiveThreshold: 2, excessiveWindowMs: 10_000 }
      })
      const attempt = (m: ModelMetadata) =>
        m.id === "a" ? Effect.fail(new Timeout({ ...provider("a"), timeoutMs: 1_000 })) : Effect.succeed(m.id)
      const excessive = Effect.map(events.all, (all) => all.filter((e) => e._tag === "ExcessiveFailover"))
      for (let i = 0; i < 2; i++) yield* failover.run([a, b], attempt)
      assert.strictEqual((yield* excessive).length, 0, "two failovers are not more than two")
      yield* failover.run([a, b], attempt)
      const first = yield* excessive
      assert.strictEqual(first.length, 1)
      assert.isTrue(first[0]!._tag === "ExcessiveFailover" && first[0]!.model === "a" && first[0]!.count === 3)
      for (let i = 0; i < 5; i++) yield* failover.run([a, b], attempt)
      assert.strictEqual((yield* excessive).length, 1, "once per window")
      yield* TestClock.adjust(Duration.millis(10_000))
      for (let i = 0; i < 3; i++) yield* failover.run([a, b], attempt)
      assert.strictEqual((yield* excessive).length, 2, "again in the next window")
    }))
})

describe("candidatesFor", () => {
  const ranking = {
    ranked: [c, a, b].map((m, i) => ({
      model: m,
      score: 1 - i / 10,
      parts: { capability: 0, cost: 0, performance: 0, availability: 0 },
      weights: { capability: 0, cost: 0, performance: 0, availability: 0 },
      explanation: []
    })),
    excluded: []
  }

  it("auto requests follow the ranking", () => {
    assert.deepStrictEqual(candidatesFor("auto", ranking).map((m) => m.id), ["c", "a", "b"])
  })

  it("explicit requests try the model, then only its configured fallbacks in order, skipping ineligible ones", () => {
    const explicit = model("a", { fallbacks: ["x", "b"] })
    assert.deepStrictEqual(candidatesFor(explicit, ranking).map((m) => m.id), ["a", "b"])
    const noFallbacks = model("b")
    assert.deepStrictEqual(candidatesFor(noFallbacks, ranking).map((m) => m.id), ["b"])
  })
})
