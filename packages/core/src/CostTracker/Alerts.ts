/**
 * What the cost tracker says when a budget fills: the `BudgetExceeded` error
 * (and its event, once per period), threshold crossings as events and
 * `BudgetAlertRecord`s. With a store that claims alerts (`CostStore.claimAlert`,
 * several instances on PostgreSQL) a crossing is announced only once its
 * record is stored, by the one instance whose claim stored it (in a fiber of
 * the tracker's scope: nothing waits for it); a claim that fails is
 * announced anyway, recorded through the sink.
 */
import { BudgetExceeded } from "@modelgate/domain/Errors"
import { BudgetExceededEvent, BudgetThresholdCrossed } from "@modelgate/domain/Events"
import { picoToSafeNumber, toUsd } from "@modelgate/domain/Money"
import { BudgetAlertRecord } from "@modelgate/domain/Records"
import { Effect, type Scope } from "effect"
import type { CostStore } from "../CostStore.js"
import type { Events } from "../Events.js"
import type { RecordSink } from "../RecordSink.js"
import { type Budget, type BudgetBook, type Crossing, periodBounds } from "./Budgets.js"

/** Pico-dollars spent for a record's `spentPicoUsd` (a non-negative safe integer: amounts above ~$9,007 are capped; the limit is exact). */
const spentField = (pico: bigint): number => picoToSafeNumber(pico < 0n ? 0n : pico)

/** The alerts over `book`, published on `events` and recorded through `sink`. */
// Errors, events and records here are built with validation off (`, true`): the book's own typed amounts
// (a refusal is built per refused request); test/HotPathSchemas.test.ts checks them against the Schemas.
export const make = (
  book: BudgetBook,
  events: Events["Type"],
  sink: RecordSink["Type"],
  claim?: { readonly claimAlert: NonNullable<CostStore["Type"]["claimAlert"]>; readonly scope: Scope.Scope }
) => {
  /**
   * The refusal of `budget` (of a request that would hold `requestPico`). Retry
   * when the period ends, unless what is spent leaves room for the request and
   * only the holds of calls in flight do not: those may end at any moment
   * (most spend less than they hold), so no retry time is known; none either
   * for a request that may cost more than the whole limit (it never fits).
   */
  const exceeded = (budget: Budget, now: number, requestPico?: bigint) => {
    const spent = book.spent(budget.period, budget.name)
    const heldOnly = requestPico !== undefined && spent < budget.limitPico && spent + requestPico <= budget.limitPico
    const noRetry = heldOnly || (requestPico !== undefined && requestPico > budget.limitPico)
    return new BudgetExceeded({
      budget: budget.name,
      period: budget.period,
      limitUsd: toUsd(budget.limitPico),
      spentUsd: toUsd(spent + book.reservedOn(budget.name)),
      ...(noRetry ? {} : { retryAfterMs: Math.max(0, periodBounds(budget.period, now).end - now) }),
      ...(requestPico === undefined ? {} : { requestUsd: toUsd(requestPico) })
    }, true)
  }

  /** Publish `BudgetExceeded` (the event) for a budget that is now spent. */
  const announceSpent = (budget: Budget, now: number) =>
    Effect.gen(function* () {
      const error = exceeded(budget, now)
      yield* Effect.logWarning(error.message)
      yield* events.publish(
        BudgetExceededEvent.make({ at: now, budget: budget.name, period: budget.period, spentUsd: error.spentUsd, limitUsd: error.limitUsd }, true)
      )
    })

  /** Refuse a request that would hold `requestPico` on `budget` (announcing the budget spent, once a period). */
  const refuse = (budget: Budget, now: number, requestPico: bigint) =>
    Effect.gen(function* () {
      const spent = book.spent(budget.period, budget.name) >= budget.limitPico
      if (spent && (yield* Effect.sync(() => book.spentFirst(budget)))) {
        yield* announceSpent(budget, now)
      }
      return yield* exceeded(budget, now, requestPico)
    })

  const announce = (crossing: Crossing, now: number): Effect.Effect<void> => {
    const { budget, periodStart, spent, threshold } = crossing
    const publish = Effect.zipRight(
      Effect.logInfo(`budget ${budget.name} (${budget.period}) reached ${Math.round(threshold * 100)}%`),
      events.publish(
        BudgetThresholdCrossed.make({
          at: now,
          budget: budget.name,
          period: budget.period,
          threshold,
          spentUsd: toUsd(spent),
          limitUsd: toUsd(budget.limitPico)
        }, true)
      )
    )
    const record = BudgetAlertRecord.make({
      at: now,
      budget: budget.name,
      period: budget.period,
      periodStart,
      threshold,
      spentPicoUsd: spentField(spent),
      limitPicoUsd: budget.limitPico
    }, true)
    const announceHere = Effect.zipRight(publish, sink.offer(record))
    if (claim === undefined) return announceHere
    const claimed = claim.claimAlert(record).pipe(
      Effect.matchEffect({
        onSuccess: (stored) => (stored ? publish : Effect.void),
        onFailure: (error) =>
          Effect.zipRight(Effect.logWarning("could not store a budget alert for the other instances; announced here, it may be announced twice", error.message), announceHere)
      })
    )
    return Effect.asVoid(Effect.forkIn(claimed, claim.scope))
  }

  return { exceeded, announceSpent, refuse, announce }
}
