/**
 * CostTracker: price per model, cost records, aggregations, budgets.
 *
 * The selector reads `estimateCost` / `budgetHeadroom` / `checkBudget`; the
 * gateway calls `reserve(model, agentType, estimatedCost)` before a provider
 * call and `commit(reservation, record)` or `release(reservation)` after it;
 * cache hits call `record` (zero cost, never refused).
 *
 * Budgets are enforced from in-memory running totals per UTC day and month
 * (seeded from the `CostStore` when the layer starts), so a just-committed
 * cost counts at once, before the record writer flushes it. Aggregations
 * (`costs`, `dailyCost`, `costByModel`) read the store: a record shows there
 * after the writer's next flush (`records.flushIntervalMs`). With several
 * gateway instances on one database, each enforces budgets on its own totals
 * plus what the others stored: as of its start, then read again every
 * `budgets.syncIntervalMs` when set (`CostTracker/Sync.ts`).
 *
 * Untraced (`checkBudget`, `reserve`, `commit`, `release`, `record` and `budgetHeadroom`: `Effect.fnUntraced` or plain functions, no span or
 * stack capture per call): on the request path, see bench/README.md. The
 * gateway keeps one span per request.
 */
import { BudgetExceeded, type StoreError } from "@modelgate/domain/Errors"
import type { ModelMetadata } from "@modelgate/domain/Model"
import type { PicoUsd } from "@modelgate/domain/Money"
import type { CostRecord } from "@modelgate/domain/Records"
import { Clock, Context, Effect, Layer, Option } from "effect"
import { type CostGroup, type CostQuery, CostStore } from "./CostStore.js"
import {
  allBudgets,
  BudgetBook,
  type BudgetStatus,
  budgetsFor,
  dims,
  dimsOf,
  type Period,
  periodBounds
} from "./CostTracker/Budgets.js"
import * as Alerts from "./CostTracker/Alerts.js"
import { computeCost, type TokenUsage } from "./CostTracker/Price.js"
import * as Sync from "./CostTracker/Sync.js"
import { Events } from "./Events.js"
import { GatewayConfig } from "./GatewayConfig.js"
import { InstanceId } from "./InstanceId.js"
import type { GatewayConfigData } from "./GatewayConfigSchema.js"
import { RecordSink } from "./RecordSink.js"

export type { BudgetStatus } from "./CostTracker/Budgets.js"
export { computeCost, type TokenUsage, tokenUsageOf } from "./CostTracker/Price.js"

/** A time range: `from` inclusive, `to` exclusive, epoch ms; either may be absent. */
export interface TimeRange {
  readonly from?: number | undefined
  readonly to?: number | undefined
}

/** Money held against every budget a request would spend on, until it is committed or released. */
export interface BudgetReservation {
  readonly id: string
  readonly model: string
  readonly agentType: string | undefined
  readonly amount: PicoUsd
}

/** Costs and budgets. */
export class CostTracker extends Context.Tag("@modelgate/core/CostTracker")<
  CostTracker,
  {
    /** Exact cost of the given token counts on `model`. */
    readonly cost: (model: ModelMetadata, usage: TokenUsage) => PicoUsd
    /**
     * Whether `amount` more would fit every budget `model` / `agentType` spend on.
     * Fails with the first budget it would exceed (announcing a budget found
     * spent, once a period). With `dryRun` (the admin dry run) it only reads:
     * nothing announced or marked, so a later check announces as it would have.
     */
    readonly checkBudget: (
      model: ModelMetadata,
      agentType: string | undefined,
      amount: PicoUsd,
      dryRun?: boolean
    ) => Effect.Effect<void, BudgetExceeded>
    /**
     * `checkBudget` of several requests at one instant, in order: for each,
     * undefined when it fits, else the error `checkBudget` fails with (and the
     * same events; none with `dryRun`). One config and clock read; the selector
     * asks it once per ranking. Optional: callers fall back to `checkBudget`.
     */
    readonly checkBudgets?: (
      agentType: string | undefined,
      requests: ReadonlyArray<{ readonly model: ModelMetadata; readonly amount: PicoUsd }>,
      dryRun?: boolean
    ) => Effect.Effect<ReadonlyArray<BudgetExceeded | undefined>>
    /**
     * `reserve`, `commit` and `checkBudgets` at `now` under `config`: the
     * caller's own reads of the clock and of `GatewayConfig` (once per
     * request), not read again. The book-keeping runs when the member is
     * CALLED (atomically, as one synchronous step); the returned effect carries
     * its outcome and what is left to do (the record offered to the sink,
     * events): call it where it is run, once. Optional: callers fall back to the plain methods.
     */
    readonly reserveAt?: (
      config: GatewayConfigData,
      now: number,
      model: ModelMetadata,
      agentType: string | undefined,
      amount: PicoUsd
    ) => Effect.Effect<BudgetReservation, BudgetExceeded>
    readonly commitAt?: (config: GatewayConfigData, now: number, reservation: BudgetReservation, record: CostRecord) => Effect.Effect<void>
    readonly checkBudgetsAt?: (
      config: GatewayConfigData,
      now: number,
      agentType: string | undefined,
      requests: ReadonlyArray<{ readonly model: ModelMetadata; readonly amount: PicoUsd }>,
      dryRun?: boolean
    ) => Effect.Effect<ReadonlyArray<BudgetExceeded | undefined>>
    /** Hold `amount` against the budgets (race-free); fails when a budget has no room. */
    readonly reserve: (model: ModelMetadata, agentType: string | undefined, amount: PicoUsd) => Effect.Effect<BudgetReservation, BudgetExceeded>
    /** Replace a reservation by the actual cost and record it (offered to the RecordSink). */
    readonly commit: (reservation: BudgetReservation, record: CostRecord) => Effect.Effect<void>
    /** Drop a reservation (the call failed; nothing was spent). */
    readonly release: (reservation: BudgetReservation) => Effect.Effect<void>
    /** Record a cost that had no reservation (a cache hit: zero cost). */
    readonly record: (record: CostRecord) => Effect.Effect<void>
    /** Cost of a request before it runs: prompt tokens plus the output it may produce, no cache discount. */
    readonly estimateCost: (model: ModelMetadata, promptTokens: number, maxOutputTokens: number) => PicoUsd
    /** The least room (pico-dollars) left on the budgets `model` / `agentType` spend on; None when no budget applies. */
    readonly budgetHeadroom: (model: ModelMetadata, agentType: string | undefined) => Effect.Effect<Option.Option<bigint>>
    /** Every configured budget with its spend, holds and period, from the in-memory totals. */
    readonly budgetStatus: Effect.Effect<ReadonlyArray<BudgetStatus>>
    /** Stored costs matching `query`, summed per group (exact). */
    readonly costs: (query: CostQuery) => Effect.Effect<ReadonlyArray<CostGroup>, StoreError>
    /** Stored costs per UTC day (`YYYY-MM-DD`) within `range`. */
    readonly dailyCost: (range?: TimeRange) => Effect.Effect<ReadonlyArray<CostGroup>, StoreError>
    /** Stored costs per model within `range`. */
    readonly costByModel: (range?: TimeRange) => Effect.Effect<ReadonlyArray<CostGroup>, StoreError>
  }
>() {}


/** The running totals of the current month and day from a store without `spendByWriter`: everything stored. */
const seedTotals = (store: CostStore["Type"], book: BudgetBook) =>
  Effect.forEach(["monthly", "daily"] as const, (period) =>
    Effect.gen(function* () {
      const from = book.start(period)
      const byModel = yield* store.costs({ from, groupBy: "model" })
      const byAgent = yield* store.costs({ from, groupBy: "agentType" })
      let total = 0n
      for (const g of byModel) {
        if (g.key !== null) book.seed(period, dims.model(g.key), g.costPicoUsd)
        total += g.costPicoUsd
      }
      for (const g of byAgent) if (g.key !== null) book.seed(period, dims.agentType(g.key), g.costPicoUsd)
      book.seed(period, dims.global, total)
    }), { discard: true })

/** Options of `make` and `layerWith`. */
export interface MakeOptions {
  /**
   * The sync interval when `budgets.syncIntervalMs` is unset (default: none,
   * no sync). GatewayLive sets `database.syncIntervalMs` on PostgreSQL, where
   * several instances share the database and a read never blocks the event
   * loop.
   */
  readonly defaultSyncIntervalMs?: number | undefined
}

/**
 * Build the tracker: seeds the running totals of the current day and month
 * from the store and, when the store reads spend by writer, forks the sync of
 * the other instances' spend in the scope.
 */
export const make = (options: MakeOptions = {}) => Effect.gen(function* () {
  const store = yield* CostStore
  const sink = yield* RecordSink
  const events = yield* Events
  const gatewayConfig = yield* GatewayConfig
  const book = new BudgetBook()
  let sequence = 0

  const instance = yield* InstanceId
  const now0 = yield* Clock.currentTimeMillis
  book.roll(now0)
  // Several instances on one database: a threshold they see crossed together is announced by one (`CostStore.claimAlert`).
  const alerts = Alerts.make(book, events, sink, store.claimAlert === undefined ? undefined : { claimAlert: store.claimAlert, scope: yield* Effect.scope })
  const { spendByWriter } = store
  const sync = spendByWriter === undefined
    ? undefined
    : Sync.make({ book, instance, spendByWriter, alertsSince: store.alertsSince, gatewayConfig, alerts, defaultSyncIntervalMs: options.defaultSyncIntervalMs })
  yield* (sync === undefined ? seedTotals(store, book) : sync.seed).pipe(
    Effect.catchAll((error) =>
      Effect.logError("could not seed budget totals from the store; budgets count from zero", error.message)
    )
  )
  book.bound((yield* gatewayConfig.get).budgets.perAgentType)
  // The thresholds an earlier run announced this period are not announced again (once per period).
  if (store.alertsSince !== undefined) {
    yield* store.alertsSince(book.start("monthly")).pipe(
      Effect.andThen((alerts) => Effect.flatMap(gatewayConfig.get, ({ budgets }) => Effect.sync(() => alerts.forEach((alert) => book.announcedBefore(alert, budgets))))),
      Effect.catchAll((error) => Effect.logError("could not read the budget alerts announced; thresholds may be announced again", error.message))
    )
  }

  const { announce, announceSpent, exceeded, refuse } = alerts
  if (sync !== undefined) yield* Effect.forkScoped(sync.run)

  // The request path (check, reserve, commit, record) reads the config and the clock, then does all
  // its book-keeping in one synchronous step: atomic (a check-and-hold cannot interleave with another)
  // and a few Effect ops; events are published after it only when something crossed a line.
  /** Run `f` with the configuration and the time (one read of each). */
  const withNow = <A, E>(f: (config: GatewayConfigData, now: number) => Effect.Effect<A, E>) =>
    Effect.flatMap(gatewayConfig.get, (config) => Effect.clockWith((clock) => f(config, clock.unsafeCurrentTimeMillis())))

  /** Check (and hold) in one synchronous step; runs when called. `dryRun` (never with `hold`): reads only. */
  const checkStep = (
    config: GatewayConfigData,
    now: number,
    model: ModelMetadata,
    agentType: string | undefined,
    amount: PicoUsd,
    hold: boolean,
    dryRun?: boolean
  ): Effect.Effect<BudgetReservation, BudgetExceeded> => {
    const budgets = budgetsFor(config.budgets, model.id, agentType)
    book.roll(now)
    const over = budgets.length === 0 ? undefined : book.blockingBudget(budgets, BigInt(amount))
    if (over !== undefined) return dryRun === true ? Effect.fail(exceeded(over, now, BigInt(amount))) : refuse(over, now, BigInt(amount))
    const id = dryRun === true ? "dry-run" : `reservation-${++sequence}`
    if (hold) book.hold(id, dimsOf(model.id, agentType), BigInt(amount))
    return Effect.succeed({ id, model: model.id, agentType, amount })
  }

  const check = (model: ModelMetadata, agentType: string | undefined, amount: PicoUsd, hold: boolean, dryRun?: boolean) =>
    withNow((config, now) => checkStep(config, now, model, agentType, amount, hold, dryRun))

  const checkBudgets = (
    agentType: string | undefined,
    requests: ReadonlyArray<{ readonly model: ModelMetadata; readonly amount: PicoUsd }>,
    dryRun?: boolean
  ): Effect.Effect<ReadonlyArray<BudgetExceeded | undefined>> => withNow((config, now) => checkBudgetsStep(config, now, agentType, requests, dryRun))

  /** Several checks in one synchronous step; runs when called. `dryRun`: refusals only built, nothing announced. */
  const checkBudgetsStep = (
    config: GatewayConfigData,
    now: number,
    agentType: string | undefined,
    requests: ReadonlyArray<{ readonly model: ModelMetadata; readonly amount: PicoUsd }>,
    dryRun?: boolean
  ): Effect.Effect<ReadonlyArray<BudgetExceeded | undefined>> => {
    book.roll(now)
    const over = requests.map(({ amount, model }) => {
      const budgets = budgetsFor(config.budgets, model.id, agentType)
      const first = budgets.length === 0 ? undefined : book.blockingBudget(budgets, BigInt(amount))
      if (first === undefined && dryRun !== true) ++sequence // as `check` does for every request that fits
      return first
    })
    if (over.every((b) => b === undefined)) return Effect.succeed(over as ReadonlyArray<undefined>)
    if (dryRun === true) return Effect.succeed(over.map((budget, i) => budget && exceeded(budget, now, BigInt(requests[i]!.amount))))
    return Effect.forEach(over, (budget, i) =>
      budget === undefined ? Effect.succeed(undefined) : Effect.flip(refuse(budget, now, BigInt(requests[i]!.amount))))
  }

  const settle = (reservation: BudgetReservation | undefined, record: CostRecord) =>
    withNow((config, now) => settleStep(config, now, reservation, record))

  /** Commit or record in one synchronous step (runs when called); the effect offers the record and announces. */
  const settleStep = (config: GatewayConfigData, now: number, reservation: BudgetReservation | undefined, record: CostRecord): Effect.Effect<void> => {
    const budgets = budgetsFor(config.budgets, record.model, record.agentType)
    book.roll(now)
    if (reservation !== undefined) book.unhold(reservation.id)
    book.add(record.at, dimsOf(record.model, record.agentType), BigInt(record.costPicoUsd), config.budgets.perAgentType)
    // Offered now (this runs inside the caller's step): `Effect.void` when it was queued at once.
    const offered = sink.offerNow === undefined ? sink.offer(record) : sink.offerNow(record)
    if (budgets.length === 0) return offered
    const crossings = book.crossings(budgets, config.budgets.alertThresholds)
    const spent = budgets.filter((b) => book.spent(b.period, b.name) >= b.limitPico && book.spentFirst(b))
    if (crossings.length === 0 && spent.length === 0) return offered
    return offered.pipe(
      Effect.zipRight(Effect.forEach(crossings, (c) => announce(c, now), { discard: true })),
      Effect.zipRight(Effect.forEach(spent, (b) => announceSpent(b, now), { discard: true }))
    )
  }

  const budgetHeadroom = Effect.fnUntraced(function* (model: ModelMetadata, agentType: string | undefined) {
    const config = yield* gatewayConfig.get
    const now = yield* Clock.currentTimeMillis
    const budgets = budgetsFor(config.budgets, model.id, agentType)
    return yield* Effect.sync(() => {
      book.roll(now)
      let least: bigint | undefined
      for (const b of budgets) {
        const room = b.limitPico - book.spent(b.period, b.name) - book.reservedOn(b.name)
        const clamped = room < 0n ? 0n : room
        if (least === undefined || clamped < least) least = clamped
      }
      return Option.fromNullable(least)
    })
  })

  const budgetStatus = Effect.gen(function* () {
    const config = yield* gatewayConfig.get
    const now = yield* Clock.currentTimeMillis
    return yield* Effect.sync(() => {
      book.roll(now)
      return allBudgets(config.budgets).map((b): BudgetStatus => {
        const { end, start } = periodBounds(b.period as Period, now)
        return {
          budget: b.name,
          period: b.period,
          periodStart: start,
          periodEnd: end,
          limitPicoUsd: b.limitPico,
          spentPicoUsd: book.spent(b.period, b.name),
          reservedPicoUsd: book.reservedOn(b.name)
        }
      })
    })
  })

  const costs = Effect.fn("CostTracker.costs")((query: CostQuery) => store.costs(query))

  return CostTracker.of({
    cost: (model, usage) => computeCost(model.pricing, usage),
    estimateCost: (model, promptTokens, maxOutputTokens) =>
      computeCost(model.pricing, { promptTokens, completionTokens: maxOutputTokens, cachedTokens: 0 }),
    checkBudget: (model, agentType, amount, dryRun) => Effect.asVoid(check(model, agentType, amount, false, dryRun)),
    checkBudgets,
    reserveAt: (config, now, model, agentType, amount) => checkStep(config, now, model, agentType, amount, true),
    commitAt: (config, now, reservation, record) => settleStep(config, now, reservation, record),
    checkBudgetsAt: checkBudgetsStep,
    reserve: (model, agentType, amount) => check(model, agentType, amount, true),
    commit: (reservation, record) => settle(reservation, record),
    release: (reservation) => Effect.sync(() => book.unhold(reservation.id)),
    record: (record) => settle(undefined, record),
    budgetHeadroom,
    budgetStatus,
    costs,
    dailyCost: (range) => costs({ ...range, groupBy: "day" }),
    costByModel: (range) => costs({ ...range, groupBy: "model" })
  })
})

/** The cost tracker over a `CostStore` with `options`, publishing on `Events` and recording through the `RecordSink`. */
export const layerWith = (options: MakeOptions): Layer.Layer<CostTracker, never, CostStore | RecordSink | Events | GatewayConfig> =>
  Layer.scoped(CostTracker, make(options))

/** The cost tracker over a `CostStore`, publishing on `Events` and recording through the `RecordSink`. */
export const layer: Layer.Layer<CostTracker, never, CostStore | RecordSink | Events | GatewayConfig> = layerWith({})
