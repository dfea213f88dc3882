/**
 * A model real calls took out and whose probe then passes gets one real call
 * at a time (half-open). A request that claimed that trial call and is done
 * with the model without telling health anything (a 400, its reservation
 * refused before any call, its client gone before the call, a failover to the
 * fallback) gives the trial back at once: the next request may call the
 * model, instead of every request skipping it until `trialTimeoutMs` lapses.
 * A trial call still in flight (a stream being read, a complete call its
 * client left) keeps it until that call ends.
 */
import { assert, describe, it } from "@effect/vitest"
import { BadRequest, ServerError } from "@modelgate/domain/ProviderError"
import { Effect, Exit, Fiber, Stream, TestClock } from "effect"
import { Gateway } from "../src/Gateway.js"
import { HealthCheckConfig } from "../src/GatewayConfigSchema.js"
import { HealthChecker } from "../src/HealthChecker.js"
import { HalfOpen, trialRetryMs, trialTimeoutMs } from "../src/HealthChecker/HalfOpen.js"
import type { Provider } from "../src/Provider.js"
import { ask, costStack, requirements } from "./CostStack.js"
import { failingModelDouble } from "./FailingModelDouble.js"
import { sweepInterruptions } from "./InterruptAtOp.js"
import { type Reservations, refusingLimiter } from "./RefusingLimiter.js"
import { model } from "./RoutingFixtures.js"

const broken = model("broken", { fallbacks: ["good"] })
const good = model("good")

/** How "broken" answers: a 500 at once, a 400 (at once or after a second), or as "good". */
const state = { mode: "fail" as "fail" | "badRequest" | "slowBadRequest" | "ok", calls: 0 }
const reservations: Reservations = new Map()
const answers = failingModelDouble("hello")
const badRequest = new BadRequest({ provider: "openai", model: "broken", detail: "scripted", status: 400 })
const provider: Provider = {
  ...answers,
  chat: (ctx, ...rest) =>
    ctx.model.id !== "broken" ? answers.chat(ctx, ...rest) : Effect.suspend(() => {
      state.calls++
      switch (state.mode) {
        case "fail":
          return Effect.fail(new ServerError({ provider: "openai", model: "broken", detail: "scripted", status: 500 }))
        case "badRequest":
          return Effect.fail(badRequest)
        case "slowBadRequest":
          return Effect.zipRight(Effect.sleep("1 second"), Effect.fail(badRequest))
        case "ok":
          return answers.chat({ ...ctx, model: good }, ...rest)
      }
    }),
  stream: (ctx, ...rest) => answers.stream(ctx.model.id === "broken" ? { ...ctx, model: good } : ctx, ...rest)
}

/** The gateway over both models, probes every 60 s, three failures take a model out. */
const stack = () =>
  costStack(
    [broken, good],
    provider,
    { healthCheck: HealthCheckConfig.make({ intervalMs: 60_000, failureThreshold: 3 }) },
    refusingLimiter(reservations)
  )

const settle = Effect.repeatN(Effect.yieldNow(), 200)

/** Whether "broken" may be called, and the retry a ranking is told when not. */
const gate = Effect.flatMap(HealthChecker, (health) => Effect.map(health.availability!(["broken"]), ([a]) => [a!.available, a!.retryAfterMs]))

/** Three failed calls take "broken" out; the probe at 60 s passes: half-open, its trial call to be had. */
const halfOpen = Effect.gen(function* () {
  Object.assign(state, { mode: "fail", calls: 0 })
  reservations.clear()
  const gateway = yield* Gateway
  const health = yield* HealthChecker
  yield* settle
  for (let i = 0; i < 3; i++) yield* gateway.complete(ask("broken", `question ${i}`), requirements)
  assert.strictEqual((yield* health.status("broken")).status, "unavailable")
  yield* TestClock.setTime(60_000)
  yield* settle
  assert.strictEqual((yield* health.status("broken")).status, "available", "the probe at 60 s passed")
  assert.deepStrictEqual(yield* gate, [true, undefined])
  state.calls = 0
  return gateway
})

/** A request naming "broken" now: it calls "broken", which answers (its trial succeeds: fully available). */
const servedByBroken = Effect.gen(function* () {
  state.mode = "ok"
  reservations.clear()
  const gateway = yield* Gateway
  const before = state.calls
  const answer = yield* gateway.complete(ask("broken", "again"), requirements)
  assert.deepStrictEqual([answer.meta.model, answer.meta.failovers, state.calls - before], ["broken", 0, 1], "the next request calls it")
  assert.strictEqual((yield* (yield* HealthChecker).status("broken")).status, "available")
})

describe("Health: a trial request done with the model without a health outcome gives the trial back", () => {
  it.effect("its call answered a 400 (the request's fault): the next request may call the model at once", () =>
    Effect.gen(function* () {
      const gateway = yield* halfOpen
      state.mode = "badRequest"
      const refused = yield* Effect.either(gateway.complete(ask("broken", "a bad one"), requirements))
      assert.isTrue(refused._tag === "Left" && refused.left._tag === "BadRequest")
      assert.strictEqual(state.calls, 1, "the trial call went")
      assert.deepStrictEqual(yield* gate, [true, undefined], "no trial in flight: a 400 says nothing of the model's health")
      yield* servedByBroken
    }).pipe(Effect.provide(stack())))

  it.effect("its reservation was refused before any call: given back once it fails over, while its fallback still works on it", () =>
    Effect.gen(function* () {
      const gateway = yield* halfOpen
      reservations.set("broken", "refuse")
      reservations.set("good", "slow")
      const fiber = yield* Effect.fork(gateway.complete(ask("broken", "refused locally"), requirements))
      yield* settle
      const onFallback = yield* gate
      yield* TestClock.adjust("1 second")
      const answer = yield* Fiber.join(fiber)
      assert.deepStrictEqual([answer.meta.model, answer.meta.failovers, state.calls], ["good", 1, 0], "no call of broken")
      assert.deepStrictEqual(onFallback, [true, undefined], "while the request was on its fallback: done with broken")
      yield* servedByBroken
    }).pipe(Effect.provide(stack())))

  it.effect("its client left before the call: the next request may call the model", () =>
    Effect.gen(function* () {
      const gateway = yield* halfOpen
      reservations.set("broken", "slow")
      const fiber = yield* Effect.fork(gateway.complete(ask("broken", "gone"), requirements))
      yield* settle
      assert.deepStrictEqual(yield* gate, [false, trialRetryMs], "its trial is claimed while it reserves")
      yield* Fiber.interruptFork(fiber)
      yield* TestClock.adjust("1 second")
      assert.isTrue(Exit.isInterrupted(yield* Fiber.await(fiber)))
      assert.strictEqual(state.calls, 0, "no call went")
      assert.deepStrictEqual(yield* gate, [true, undefined])
      yield* servedByBroken
    }).pipe(Effect.provide(stack())))

  it.effect("its client left at any step from its start to its reservation (right after the ranking claimed it included): given back", () =>
    Effect.gen(function* () {
      const gateway = yield* halfOpen
      reservations.set("broken", "slow")
      // Every step up to its reservation, which waits (a remote store) and is not cut short: a client may leave on any.
      const { left, reachedWait } = yield* sweepInterruptions(
        (n) => gateway.complete(ask("broken", `gone ${n}`), requirements),
        Effect.map(gate, ([available]) => available === true),
        "1 second"
      )
      assert.deepStrictEqual(left, [], "steps at which a request's client left and its trial stayed claimed")
      assert.isTrue(reachedWait, "the sweep went as far as the reservation")
      assert.strictEqual(state.calls, 0, "no call went")
      yield* servedByBroken
    }).pipe(Effect.provide(stack())))

  it.effect("a complete call its client left runs on and holds the trial until it ends; a 400 then gives it back", () =>
    Effect.gen(function* () {
      const gateway = yield* halfOpen
      state.mode = "slowBadRequest"
      const fiber = yield* Effect.fork(gateway.complete(ask("broken", "left behind"), requirements))
      yield* settle
      assert.strictEqual(state.calls, 1)
      yield* Fiber.interrupt(fiber)
      assert.deepStrictEqual(yield* gate, [false, trialRetryMs], "the call runs on: still the trial in flight")
      yield* TestClock.adjust("1 second")
      yield* settle
      assert.deepStrictEqual(yield* gate, [true, undefined], "it ended with a 400: the trial is given back")
      yield* servedByBroken
    }).pipe(Effect.provide(stack())))

  it.effect("a streamed trial call holds the trial until the stream ends, and its success makes the model fully available", () =>
    Effect.gen(function* () {
      const gateway = yield* halfOpen
      state.mode = "ok"
      const answer = yield* gateway.stream(ask("broken", "streamed", { stream: true }), requirements)
      assert.strictEqual(answer.meta.model, "broken")
      assert.deepStrictEqual(yield* gate, [false, trialRetryMs], "opened, not yet read: still the trial in flight")
      yield* Stream.runDrain(answer.chunks)
      yield* settle
      assert.deepStrictEqual(yield* gate, [true, undefined])
      yield* servedByBroken
    }).pipe(Effect.provide(stack())))

  it("a release frees only its own claim: an outcome, or a later claim after the timeout, is left alone", () => {
    const book = new HalfOpen()
    book.trip("broken")
    const first = book.claim("broken", 0)!
    book.trip("broken") // its call failed: out again (the next probe opens it)
    const second = book.claim("broken", 10)!
    first()
    assert.strictEqual(book.pass("broken", 10), trialRetryMs, "the first claim's release leaves the second's")
    const third = book.claim("broken", 10 + trialTimeoutMs)!
    second()
    assert.strictEqual(book.pass("broken", 10 + trialTimeoutMs), trialRetryMs, "a lapsed claim's release leaves the one after it")
    third()
    assert.strictEqual(book.pass("broken", 10 + trialTimeoutMs), true)
    assert.isTrue(book.has("broken"), "released, still half-open: its next call is a trial again")
    book.forget("broken") // a call succeeded
    book.claim("good", 0)
    assert.isUndefined(book.claim("broken", 20), "not tracked: nothing to claim")
    assert.isFalse(book.has("broken"))
  })
})
