/**
 * The adapter retries a transient failure on the same model (`maxRetries`):
 * every retry is another HTTP request, which the provider counts in its
 * requests per minute. The gateway's window should count each of them too,
 * whether the call finally succeeds or fails, complete or streamed; otherwise
 * it believes it has room the provider does not give and sends requests that
 * come back 429.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { ModelRegistry } from "@modelgate/core/ModelRegistry"
import { RateLimiter } from "@modelgate/core/RateLimiter"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import * as FakeOpenAi from "@modelgate/testkit/FakeOpenAi"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect, Stream, TestClock } from "effect"
import { ask, noonUtc, stack } from "./fixture.js"

const chatCalls = (requests: ReadonlyArray<{ readonly path: string }>) => requests.filter((r) => r.path.endsWith("/chat/completions")).length

/** A 503 the adapter retries at once (`retry-after-ms: 0`: no backoff to wait for). */
const overloadedNow = Fault.status(503, { headers: { "retry-after-ms": "0" } })

/**
 * On a stack with two retries on OpenAI, script `faults` on it, run `call`
 * on the gateway (it answers the model that served), and check that OpenAI
 * got 3 HTTP requests and gpt-4o-mini's window counts 3.
 */
const threeCounted = (faults: ReadonlyArray<Fault>, servedBy: string, call: (gateway: Gateway["Type"]) => Effect.Effect<string, unknown>) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(noonUtc)
    const s = yield* stack({ gateway: { cache: { enabled: false }, failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0 } } })
    const file = path.join(s.dir, "gateway.json")
    const config = JSON.parse(fs.readFileSync(file, "utf8"))
    config.providers.openai.maxRetries = 2
    fs.writeFileSync(file, JSON.stringify(config))
    yield* Effect.gen(function* () {
      const model = yield* (yield* ModelRegistry).get("gpt-4o-mini")
      yield* s.openai.script(...faults)
      assert.strictEqual(yield* call(yield* Gateway), servedBy)
      assert.strictEqual(chatCalls(yield* s.openai.requests), 3)
      assert.strictEqual((yield* (yield* RateLimiter).headroom(model, 1)).requestsUsed, 3)
    }).pipe(Effect.provide(s.layer))
  })

const complete = (gateway: Gateway["Type"]) =>
  Effect.map(gateway.complete(ask("one"), defaultRequirements), (a) => a.meta.model)

describe("RPM counts the adapter's retries", () => {
  it.scoped("a call answered at its third HTTP request counts 3 requests on the model", () =>
    threeCounted([overloadedNow, overloadedNow], "gpt-4o-mini", complete), 20_000)

  it.scoped("a call that failed at each of its 3 HTTP requests counts 3 requests on the model", () =>
    threeCounted([overloadedNow, overloadedNow, overloadedNow], "claude-haiku", complete), 20_000)

  it.scoped("a stream opened at its third HTTP request counts 3 requests on the model", () =>
    threeCounted([overloadedNow, overloadedNow], "gpt-4o-mini", (gateway) =>
      Effect.flatMap(gateway.stream(ask("one", "gpt-4o-mini", { stream: true }), defaultRequirements), (answer) =>
        Effect.as(Stream.runDrain(answer.chunks), answer.meta.model))), 20_000)

  it.scoped("a stream opened at its third HTTP request that breaks before its first text counts 3 requests on the model", () =>
    threeCounted([overloadedNow, overloadedNow, FakeOpenAi.faults.midStreamError(1)], "claude-haiku", (gateway) =>
      Effect.flatMap(gateway.stream(ask("one", "gpt-4o-mini", { stream: true }), defaultRequirements), (answer) =>
        Effect.as(Stream.runDrain(answer.chunks), answer.meta.model))), 20_000)
})
