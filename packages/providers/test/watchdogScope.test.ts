/**
 * A client's deadline watchdogs live in the scope that built it (the
 * adapter's layer): closing that scope stops them, so a program that used
 * the gateway and finished is not kept alive by a watchdog asleep until a
 * provider timeout (5 minutes for Ollama). The watchdog sleeps on `Clock`;
 * a clock that counts the sleeps in progress (on the TestClock) shows it.
 */
import { HttpClientRequest } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import { awaitSleep } from "@modelgate/testkit/FakeServer"
import * as LoopbackServer from "@modelgate/testkit/LoopbackServer"
import { Clock, Effect, Exit, Fiber, Scope, TestClock } from "effect"
import { genericError, makeProviderHttp } from "../src/internal/index.js"

const info = { model: "toy-model", keyId: "toy#1", secrets: [] }

/** `/hang`: never answers. `/ok`: 200 JSON. */
const loopback = LoopbackServer.make(({ path }, res) => {
  if (path === "/ok") res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ok: true }))
})

/** The TestClock, with a count of the sleeps in progress (started, neither woken nor interrupted). */
const countingClock = Effect.map(TestClock.testClock(), (test) => {
  const state = { sleeping: 0 }
  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => test.unsafeCurrentTimeMillis(),
    unsafeCurrentTimeNanos: () => test.unsafeCurrentTimeNanos(),
    currentTimeMillis: Effect.sync(() => test.unsafeCurrentTimeMillis()),
    currentTimeNanos: Effect.sync(() => test.unsafeCurrentTimeNanos()),
    sleep: (duration) =>
      Effect.suspend(() => {
        state.sleeping++
        return Effect.ensuring(test.sleep(duration), Effect.sync(() => void state.sleeping--))
      })
  }
  return { clock, state }
})

/**
 * A client built in its own scope (as an adapter's layer builds one), with a
 * 1 s timeout; its calls run on the counting clock (so does the watchdog they
 * fork). The test itself stays on the TestClock (`TestClock.*` reads the current clock).
 */
const setup = Effect.gen(function*() {
  const { clock, state } = yield* countingClock
  const server = yield* loopback
  const clientScope = yield* Scope.make()
  const http = yield* makeProviderHttp({
    provider: "toy",
    getConfig: Effect.succeed(ProviderConfig.make({ baseUrl: server.url, maxRetries: 0, timeoutMs: 1_000 })),
    requestId: () => undefined,
    rateLimit: () => undefined,
    classify: (ctx) => genericError(ctx, ctx.excerpt, undefined)
  }).pipe(Scope.extend(clientScope))
  const call = (path: string) =>
    Effect.withClock(http.call(info, HttpClientRequest.get(`${server.url}${path}`), (res) => Effect.succeed(res.body)), clock)
  return { server, clientScope, call, state }
})

describe("a client's deadline watchdog ends with the client's scope", () => {
  it.scoped("closing the scope while a deadline is armed interrupts the sleeping watchdog", () =>
    Effect.gen(function*() {
      const { call, clientScope, server, state } = yield* setup
      const pending = yield* Effect.fork(call("/hang"))
      yield* server.arrived(1)
      yield* awaitSleep((ms) => ms === 1_000)
      assert.strictEqual(state.sleeping, 1, "the watchdog sleeps until the deadline")
      yield* Scope.close(clientScope, Exit.void)
      assert.strictEqual(state.sleeping, 0, "no watchdog left asleep")
      yield* Fiber.interrupt(pending)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("closing the scope just after the last exchange ended interrupts the watchdog still asleep", () =>
    Effect.gen(function*() {
      const { call, clientScope, state } = yield* setup
      yield* call("/ok")
      // Nothing is left to watch, but the watchdog only notices when it wakes.
      assert.strictEqual(state.sleeping, 1)
      yield* Scope.close(clientScope, Exit.void)
      assert.strictEqual(state.sleeping, 0, "no watchdog left asleep")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("while the scope is open, deadlines still fire (TestClock) and the watchdog ends when nothing is left", () =>
    Effect.gen(function*() {
      const { call, server, state } = yield* setup
      const pending = yield* Effect.fork(call("/hang"))
      yield* server.arrived(1)
      yield* TestClock.adjust(yield* awaitSleep((ms) => ms === 1_000))
      assert.strictEqual((yield* Effect.flip(Fiber.join(pending)))._tag, "Timeout")
      assert.strictEqual(state.sleeping, 0)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})
