/**
 * Budgets across gateway instances on one database: this instance's spend is
 * its own commits (in memory, at once); the others' is read back from the
 * `CostStore` (`spendByWriter`: every row not stored by this instance, older
 * rows without an instance included) at start and then every
 * `budgets.syncIntervalMs`, each read replacing the last (never added to), so
 * budget checks and threshold alerts count own + others. A read covers today;
 * the days before, this month, are read once an hour and on a new day
 * (`beforeToday`), so a read stays small however long the month's records.
 *
 * A failed read keeps the last figure, logged once per run of failures; a
 * read that finishes after the period rolled over is dropped (the new period
 * starts from zero until the next read). Thresholds crossed by the others'
 * spend are announced by the sync, once per instance (the `BudgetBook`
 * remembers); announcements any instance stored before the read are marked
 * announced first (`alertsSince`), so an instance does not repeat one another
 * instance made a sync ago. Two instances that see the same crossing within
 * one interval both claim it (`CostStore.claimAlert`, see `Alerts.ts`): the
 * one whose claim stores it announces it.
 */
import type { StoreError } from "@modelgate/domain/Errors"
import { Clock, Effect, Stream } from "effect"
import { everyInterval, quietly } from "../internal/periodicSync.js"
import type { CostStore, WriterSpend } from "../CostStore.js"
import type { GatewayConfig } from "../GatewayConfig.js"
import type * as Alerts from "./Alerts.js"
import { allBudgets, type BudgetBook, dims, type Period } from "./Budgets.js"

/** The periods read, in the order of `since`: the month first (so `bound` keeps today's agent types first). */
const periods: ReadonlyArray<Period> = ["monthly", "daily"]

/** The spend of `period` (index `i` of `since`) by dimension, of the groups that are this instance's (`mine`) or not. */
export const dimensionTotals = (groups: ReadonlyArray<WriterSpend>, i: number, mine: boolean): Map<string, bigint> => {
  const totals = new Map<string, bigint>()
  const add = (dim: string, amount: bigint) => totals.set(dim, (totals.get(dim) ?? 0n) + amount)
  for (const group of groups) {
    const amount = group.costPicoUsd[i] ?? 0n
    if (group.mine !== mine || amount === 0n) continue
    add(dims.global, amount)
    add(dims.model(group.model), amount)
    if (group.agentType !== null) add(dims.agentType(group.agentType), amount)
  }
  return totals
}

/** How often a sync reads the whole month rather than today only (see `beforeToday`). */
export const fullReadEveryMs = 3_600_000

/** `a + sign * b`, dimension by dimension (zeros left out). */
const addTotals = (a: ReadonlyMap<string, bigint>, b: ReadonlyMap<string, bigint>, sign = 1n): Map<string, bigint> => {
  const out = new Map(a)
  for (const [dim, amount] of b) {
    const sum = (out.get(dim) ?? 0n) + sign * amount
    if (sum === 0n) out.delete(dim)
    else out.set(dim, sum)
  }
  return out
}

/** The others' spend kept in step with the store, for one tracker. */
export const make = (options: {
  readonly book: BudgetBook
  readonly instance: string
  readonly spendByWriter: NonNullable<CostStore["Type"]["spendByWriter"]>
  readonly alertsSince: CostStore["Type"]["alertsSince"]
  readonly gatewayConfig: GatewayConfig["Type"]
  readonly alerts: ReturnType<typeof Alerts.make>
  /** The interval when `budgets.syncIntervalMs` is unset (none: no sync then). */
  readonly defaultSyncIntervalMs?: number | undefined
}) => {
  const { alerts, alertsSince, book, gatewayConfig, instance, spendByWriter } = options
  const starts = () => periods.map((period) => book.start(period))

  /** At start: this instance's stored rows as its own spend (none, for a new id), everyone else's as the others'. */
  const seed: Effect.Effect<void, StoreError> = Effect.gen(function* () {
    const since = starts()
    const groups = yield* spendByWriter(instance, since)
    periods.forEach((period, i) => {
      for (const [dim, amount] of dimensionTotals(groups, i, true)) book.seedOwn(period, dim, amount)
      for (const [dim, amount] of dimensionTotals(groups, i, false)) book.seed(period, dim, amount)
    })
  })

  /**
   * The others' spend before today, this month (month minus day of the last
   * full read), and when and for which day it was read: a sync reads only
   * today's records while it holds, and the whole month once an hour and on
   * a new day (a record of yesterday stored late is counted by then). Of
   * agent types, only those the book keeps (`forgetUnkept`): requests name
   * them, and the others' may name a new one each. When some were forgotten
   * (`forgotWith`: the per-agent-type budgets then), a reload that changes
   * those budgets makes the next sync read the whole month again, so a budget
   * added for a forgotten agent type counts its month.
   */
  let beforeToday:
    | { readonly dayStart: number; readonly readAt: number; readonly totals: Map<string, bigint>; forgotWith?: object }
    | undefined

  /** Drop from `beforeToday` the agent types the book forgot (beyond its bound; `budgeted` it never forgets). */
  const forgetUnkept = (budgeted: object) => {
    if (beforeToday === undefined) return
    for (const dim of beforeToday.totals.keys()) {
      if (book.keeps(dim)) continue
      beforeToday.totals.delete(dim)
      beforeToday.forgotWith = budgeted
    }
  }

  /** The others' spend this month and today, by dimension (the month from `beforeToday` plus today, when it holds). */
  const othersSpend = (since: ReadonlyArray<number>, now: number) =>
    Effect.gen(function* () {
      const [monthStart, dayStart] = since as readonly [number, number]
      const cached = beforeToday
      if (cached !== undefined && cached.dayStart === dayStart && now - cached.readAt < fullReadEveryMs) {
        const daily = dimensionTotals(yield* spendByWriter(instance, [dayStart]), 0, false)
        return { monthly: addTotals(cached.totals, daily), daily, full: false }
      }
      const groups = yield* spendByWriter(instance, [monthStart, dayStart])
      const monthly = dimensionTotals(groups, 0, false)
      const daily = dimensionTotals(groups, 1, false)
      beforeToday = { dayStart, readAt: now, totals: addTotals(monthly, daily, -1n) }
      return { monthly, daily, full: true }
    })

  /** One read of the others' spend, replacing the last; announces what it makes crossed. */
  const syncOnce: Effect.Effect<void, StoreError> = Effect.gen(function* () {
    const readAt = yield* Clock.currentTimeMillis
    book.roll(readAt)
    const since = starts()
    if (alertsSince !== undefined) {
      const announced = yield* alertsSince(since[0]!)
      const { budgets } = yield* gatewayConfig.get
      for (const alert of announced) book.announcedBefore(alert, budgets)
    }
    const forgotWith = beforeToday?.forgotWith
    if (forgotWith !== undefined && forgotWith !== (yield* gatewayConfig.get).budgets.perAgentType) beforeToday = undefined
    const others = yield* othersSpend(since, readAt)
    const config = yield* gatewayConfig.get
    const now = yield* Clock.currentTimeMillis
    book.roll(now)
    const budgeted = config.budgets.perAgentType
    book.replaceOthers("monthly", since[0]!, others.monthly, budgeted)
    book.replaceOthers("daily", since[1]!, others.daily, budgeted)
    if (others.full) forgetUnkept(budgeted)
    const budgets = allBudgets(config.budgets)
    const crossings = book.crossings(budgets, config.budgets.alertThresholds)
    const spent = budgets.filter((b) => book.spent(b.period, b.name) >= b.limitPico && book.spentFirst(b))
    yield* Effect.forEach(crossings, (c) => alerts.announce(c, now), { discard: true })
    yield* Effect.forEach(spent, (b) => alerts.announceSpent(b, now), { discard: true })
  })

  /** Sync every `budgets.syncIntervalMs` (else the default; none while both are unset), following reloads of the configuration. */
  const run: Effect.Effect<void> = everyInterval(
    Stream.map(gatewayConfig.changes, (config) => config.budgets.syncIntervalMs ?? options.defaultSyncIntervalMs),
    quietly(syncOnce, {
      failed: "budget sync: could not read the other instances' spend; budgets count the last figure read until it can",
      recovered: "budget sync: the others' spend is read again"
    }),
    { first: false }
  )

  /** How many dimensions the others' spend before today is kept for (tests of its bound). */
  const keptBeforeToday = (): number => beforeToday?.totals.size ?? 0

  return { seed, run, keptBeforeToday }
}
