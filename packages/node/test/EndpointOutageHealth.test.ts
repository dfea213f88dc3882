/**
 * Scenario: a provider's whole endpoint goes down while it serves two models
 * of the registry (gpt-4o-mini and gpt-4o at the same OpenAI base URL). The
 * failures of one model's calls that got no answer at all (a connection reset
 * before the headers) are evidence about the endpoint: once they take
 * gpt-4o-mini out, gpt-4o is out too, and its requests go to the fallback
 * without paying the outage again. A stall (every call times out) counts once
 * a second model shows it: one slow model alone takes out only itself. A
 * failure the endpoint answered (a 500 for one model) stays that model's.
 *
 * Time is `TestClock`; the fakes answer over real sockets.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { HealthChecker } from "@modelgate/core/HealthChecker"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Fault, type FakeServer } from "@modelgate/testkit/FakeServer"
import { Effect, Fiber, Option, type Scope, TestClock } from "effect"
import { ask, models, poll, stack } from "./fixture.js"

/** gpt-4o-mini and claude-haiku of the fixture, plus gpt-4o at the same OpenAI endpoint (falls back to claude-haiku). */
const twoOpenAiModels = () => {
  const base = models().models
  const gpt4o = { ...base[0]!, id: "gpt-4o", providerModel: "gpt-4o", displayName: "GPT-4o", qualityScore: 0.8 }
  return { source: "test registry", models: [...base, gpt4o] }
}

const gateway = {
  cache: { enabled: false },
  healthCheck: { enabled: true, intervalMs: 60_000, failureThreshold: 3 },
  failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0 }
}

/** The provider timeout of the fixture (`FakeStackConfig`). */
const providerTimeoutMs = 5_000

/**
 * Run `effect`; when a request of it reaches `server` and is held there (a
 * stall), move the clock past the provider timeout. Requests that do not
 * reach the server run as they are.
 */
const throughStall = <A, E, R>(server: FakeServer, effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const heldBefore = yield* server.held
    const fiber = yield* Effect.fork(effect)
    const [held] = yield* poll(
      Effect.zip(server.held, Fiber.poll(fiber)),
      ([held, done]) => held > heldBefore || Option.isSome(done),
      10_000,
      "the request to stall or end"
    )
    if (held > heldBefore) yield* TestClock.adjust(providerTimeoutMs)
    return yield* Fiber.join(fiber)
  })

/** The gateway on the fakes, both OpenAI models probed at start; `body` runs with it. */
const started = <A, E>(
  body: (t: {
    readonly openai: FakeServer
    readonly gw: Gateway["Type"]
    readonly health: HealthChecker["Type"]
    readonly openAiCalls: Effect.Effect<number>
  }) => Effect.Effect<A, E, Scope.Scope>
) =>
  Effect.gen(function* () {
    const s = yield* stack({ models: twoOpenAiModels(), gateway })
    return yield* Effect.gen(function* () {
      const gw = yield* Gateway
      const health = yield* HealthChecker
      const openAiCalls = Effect.map(s.openai.requests, (rs) => rs.filter((r) => r.method === "POST").length)
      yield* poll(health.status("gpt-4o"), (h) => h.status === "available", 5_000, "the probe at start")
      yield* poll(health.status("gpt-4o-mini"), (h) => h.status === "available", 5_000, "the probe at start")
      return yield* body({ openai: s.openai, gw, health, openAiCalls })
    }).pipe(Effect.provide(s.layer))
  })

describe("Scenario: an endpoint that serves several models goes down", () => {
  it.scoped("a reset before any answer: gpt-4o-mini's failed calls take gpt-4o out too, with no call of its own", () =>
    Effect.gen(function* () {
      yield* started(({ gw, health, openAiCalls, openai }) => Effect.gen(function* () {
        yield* openai.persist(Fault.reset())
        for (let i = 0; i < 3; i++) {
          const answer = yield* gw.complete(ask(`mini ${i}`, "gpt-4o-mini"), defaultRequirements)
          assert.deepStrictEqual([answer.meta.model, answer.meta.failovers], ["claude-haiku", 1])
        }
        // One request per call, and one more when the first call met the probes' kept-alive connection
        // (if still pooled) dropped as it reused it: sent again on a fresh one (StaleConnection.ts).
        const afterMini = yield* openAiCalls
        assert.include([3, 4], afterMini)
        assert.strictEqual((yield* health.status("gpt-4o-mini")).status, "unavailable")

        for (let i = 0; i < 3; i++) {
          const answer = yield* gw.complete(ask(`4o ${i}`, "gpt-4o"), defaultRequirements)
          assert.deepStrictEqual([answer.meta.model, answer.meta.failovers], ["claude-haiku", 0], "gpt-4o's endpoint is known down")
        }
        assert.strictEqual(yield* openAiCalls, afterMini, "no request to gpt-4o paid the outage again")
        const down = yield* health.status("gpt-4o")
        assert.strictEqual(down.status, "unavailable")
        assert.include(down.reason, "endpoint of openai down")

        // The endpoint is back: the probes at 60 s find it, and both models serve again.
        yield* openai.persist(undefined)
        yield* TestClock.setTime(60_000)
        yield* poll(health.status("gpt-4o"), (h) => h.status === "available", 5_000, "the probe at 60 s")
        yield* poll(health.status("gpt-4o-mini"), (h) => h.status === "available", 5_000, "the probe at 60 s")
        const back = yield* gw.complete(ask("4o back", "gpt-4o"), defaultRequirements)
        assert.deepStrictEqual([back.meta.model, back.meta.failovers], ["gpt-4o", 0])
      }))
    }), 30_000)

  it.scoped("a stall: one model timing out takes out only itself; a second model timing out takes the endpoint out", () =>
    Effect.gen(function* () {
      const gate = yield* Effect.makeLatch(false)
      yield* Effect.addFinalizer(() => gate.open)
      yield* started(({ gw, health, openAiCalls, openai }) => Effect.gen(function* () {
        yield* openai.persist(Fault.hold(gate))
        for (let i = 0; i < 3; i++) {
          const answer = yield* throughStall(openai, gw.complete(ask(`mini ${i}`, "gpt-4o-mini"), defaultRequirements))
          assert.deepStrictEqual([answer.meta.model, answer.meta.failovers], ["claude-haiku", 1])
        }
        assert.strictEqual((yield* health.status("gpt-4o-mini")).status, "unavailable")
        assert.strictEqual((yield* health.status("gpt-4o")).status, "available", "one slow model says nothing of the others")

        // gpt-4o times out too: the endpoint stalls, not one model. Its first request pays, the next ones do not.
        const first = yield* throughStall(openai, gw.complete(ask("4o 0", "gpt-4o"), defaultRequirements))
        assert.deepStrictEqual([first.meta.model, first.meta.failovers], ["claude-haiku", 1])
        assert.strictEqual(yield* openAiCalls, 4)
        for (let i = 1; i < 3; i++) {
          const answer = yield* throughStall(openai, gw.complete(ask(`4o ${i}`, "gpt-4o"), defaultRequirements))
          assert.deepStrictEqual([answer.meta.model, answer.meta.failovers], ["claude-haiku", 0])
        }
        assert.strictEqual(yield* openAiCalls, 4, "one timed-out call of gpt-4o, not one per request up to the threshold")
      }))
    }), 30_000)

  it.scoped("a failure the endpoint answers (a 500 for gpt-4o-mini) does not take out gpt-4o", () =>
    Effect.gen(function* () {
      yield* started(({ gw, health, openai }) => Effect.gen(function* () {
        yield* openai.persist(Fault.status(500))
        for (let i = 0; i < 3; i++) {
          const answer = yield* gw.complete(ask(`mini ${i}`, "gpt-4o-mini"), defaultRequirements)
          assert.deepStrictEqual([answer.meta.model, answer.meta.failovers], ["claude-haiku", 1])
        }
        assert.strictEqual((yield* health.status("gpt-4o-mini")).status, "unavailable")
        assert.strictEqual((yield* health.status("gpt-4o")).status, "available")
        yield* openai.persist(undefined)
        const answer = yield* gw.complete(ask("4o", "gpt-4o"), defaultRequirements)
        assert.deepStrictEqual([answer.meta.model, answer.meta.failovers], ["gpt-4o", 0])
      }))
    }), 30_000)
})
