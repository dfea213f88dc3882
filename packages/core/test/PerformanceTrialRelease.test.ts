/**
 * A model with fewer than 5 recent calls is tried one call at a time: the
 * request sent to it first claims its trial. A request that is done with it
 * without a record of it (its reservation refused before any call, so it
 * failed over to the next candidate) gives the trial back at once: the next
 * request goes to it, instead of every request passing it over for
 * `trialTimeoutMs`. A trial whose call is recorded still ends it, and one
 * request's release never frees another's claim.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Gateway } from "../src/Gateway.js"
import { ModelSelector } from "../src/ModelSelector.js"
import { selectionInputOf } from "../src/ModelSelector/RequestInput.js"
import { trialTimeoutMs, Trials } from "../src/PerformanceMonitor/Trials.js"
import { ask, costStack, requirements } from "./CostStack.js"
import { failingModelDouble } from "./FailingModelDouble.js"
import { sweepInterruptions } from "./InterruptAtOp.js"
import { type Reservations, refusingLimiter } from "./RefusingLimiter.js"
import { model } from "./RoutingFixtures.js"

const cheap = model("cheap", { pricing: { inputPerMillion: 0.5, outputPerMillion: 2 } })
const dear = model("dear")
const reservations: Reservations = new Map()

/** The gateway over both models; "dear" is measured well (5 calls), "cheap" has no calls: on trial, and ranked first. */
const stack = () => costStack([cheap, dear], failingModelDouble("hello"), {}, refusingLimiter(reservations))

const measured = Effect.gen(function* () {
  reservations.clear()
  const gateway = yield* Gateway
  for (let i = 0; i < 5; i++) yield* gateway.complete(ask("dear", `warm ${i}`), requirements)
  return gateway
})

/** The model that answers an `auto` request now, and after how many failovers. */
const served = (gateway: Gateway["Type"], content: string) =>
  Effect.map(gateway.complete(ask("auto", content), requirements), (a) => [a.meta.model, a.meta.failovers])

/** Cheap's performance part in a dry run now: neutral (0.5) while a request holds its trial. */
const cheapPerformance = Effect.flatMap(ModelSelector, (selector) =>
  Effect.map(
    selector.rank({ ...selectionInputOf(ask("auto", "dry"), requirements, undefined, undefined), dryRun: true }),
    (ranking) => ranking.ranked.find((s) => s.model.id === "cheap")?.parts.performance
  ))

describe("Performance trials: a request done with the model without a record gives its trial back", () => {
  it.effect("a trial request whose reservation is refused fails over, and the next request still tries the model", () =>
    Effect.gen(function* () {
      const gateway = yield* measured
      reservations.set("cheap", "refuse")
      assert.deepStrictEqual(yield* served(gateway, "refused locally"), ["dear", 1], "no call of cheap, no record")
      reservations.clear()
      assert.deepStrictEqual(yield* served(gateway, "next"), ["cheap", 0], "cheap's trial is to be had again")
      assert.deepStrictEqual(yield* served(gateway, "while measured"), ["cheap", 0], "its call recorded: measured as it answered")
    }).pipe(Effect.provide(stack())))

  it.effect("a trial request whose client left at any step up to its reservation gives the trial back", () =>
    Effect.gen(function* () {
      const gateway = yield* measured
      const free = yield* cheapPerformance
      assert.notStrictEqual(free, 0.5, "unclaimed: scored as the best measured candidate")
      reservations.set("cheap", "slow")
      // Every step up to the reservation, which waits and is not cut short: a client may leave on any.
      const { left, reachedWait } = yield* sweepInterruptions(
        (n) => gateway.complete(ask("auto", `gone ${n}`), requirements),
        Effect.map(cheapPerformance, (performance) => performance === free),
        "1 second"
      )
      assert.deepStrictEqual(left, [], "steps at which a request's client left and cheap's trial stayed claimed")
      assert.isTrue(reachedWait, "the sweep went as far as the reservation")
      reservations.clear()
      assert.deepStrictEqual(yield* served(gateway, "next"), ["cheap", 0], "cheap's trial is to be had")
    }).pipe(Effect.provide(stack())))

  it("a release frees only its own claim: a record, or a later claim after the timeout, is left alone", () => {
    const book = new Trials()
    const first = book.claim("cheap", 0)
    book.settle("cheap")
    const second = book.claim("cheap", 10)
    first()
    assert.isTrue(book.inFlight("cheap", 10), "the first claim's release leaves the second's")
    const third = book.claim("cheap", 10 + trialTimeoutMs)
    second()
    assert.isTrue(book.inFlight("cheap", 10 + trialTimeoutMs), "a claim that lapsed and was claimed again is not the lapsed one's")
    third()
    assert.isFalse(book.inFlight("cheap", 10 + trialTimeoutMs))
  })
})
