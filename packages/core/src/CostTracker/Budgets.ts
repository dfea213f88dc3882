/**
 * Budget bookkeeping, pure and synchronous: running totals per UTC day and
 * month for every dimension (all spend, each model, each agent type), open
 * reservations, and the thresholds already alerted this period. A total is
 * this instance's own spend (its commits) plus the others' (what the store
 * holds of other instances, replaced at each sync, never added to). The
 * `CostTracker` mutates a `BudgetBook` only inside `Effect.sync`, so every
 * check-and-reserve is atomic.
 */
import { MAX_SAFE_PICO } from "@modelgate/domain/Money"
import type { BudgetsConfig } from "../GatewayConfigSchema.js"

/** A budget period. */
export type Period = "daily" | "monthly"

const DAY_MS = 86_400_000

/** Start and end (epoch ms) of the UTC period containing `now`. */
export const periodBounds = (period: Period, now: number): { readonly start: number; readonly end: number } => {
  if (period === "daily") {
    const start = Math.floor(now / DAY_MS) * DAY_MS
    return { start, end: start + DAY_MS }
  }
  const d = new Date(now)
  return { start: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), end: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) }
}

/** The dimension key of all spend, of a model, of an agent type. */
export const dims = {
  global: "global",
  model: (model: string) => `model:${model}`,
  agentType: (agentType: string) => `agentType:${agentType}`
} as const

/** One configured limit that a request spends on. */
export interface Budget {
  /** `global`, `model:<id>` or `agentType:<name>`. */
  readonly name: string
  readonly period: Period
  readonly limitPico: bigint
}

/** USD (config) to pico-dollars, exactly for amounts with up to 12 decimals. */
export const usdToPico = (usd: number): bigint => BigInt(Math.round(usd * 1_000_000)) * 1_000_000n

/**
 * The longest model-and-agent-type key the memos below keep: they hold the
 * first 1,024 keys (the dimensions' for the process's life), and an agent
 * type is whatever a request names, so a longer one is computed each time.
 */
const memoMaxKey = 512

/** The budgets a request on `model` for `agentType` spends on. */
export const budgetsFor = (config: BudgetsConfig, model: string, agentType: string | undefined): ReadonlyArray<Budget> => {
  // Memoised per config object (a reload brings a new one): the request path asks several times per request.
  let byRequest = budgetsMemo.get(config)
  if (byRequest === undefined) {
    byRequest = new Map()
    budgetsMemo.set(config, byRequest)
  }
  const key = agentType === undefined ? model : `${model}\u0000${agentType}`
  const known = byRequest.get(key)
  if (known !== undefined) return known
  const budgets = computeBudgetsFor(config, model, agentType)
  // Bounded: ids and agent types come from requests; beyond this many (or this long), compute each time.
  if (byRequest.size < 1_024 && key.length <= memoMaxKey) byRequest.set(key, budgets)
  return budgets
}

const budgetsMemo = new WeakMap<BudgetsConfig, Map<string, ReadonlyArray<Budget>>>()

const computeBudgetsFor = (config: BudgetsConfig, model: string, agentType: string | undefined): ReadonlyArray<Budget> => {
  const out: Array<Budget> = []
  const add = (name: string, limit: { readonly daily?: number | undefined; readonly monthly?: number | undefined } | undefined) => {
    if (limit?.daily !== undefined) out.push({ name, period: "daily", limitPico: usdToPico(limit.daily) })
    if (limit?.monthly !== undefined) out.push({ name, period: "monthly", limitPico: usdToPico(limit.monthly) })
  }
  add(dims.global, config.global)
  add(dims.model(model), config.perModel[model])
  if (agentType !== undefined) add(dims.agentType(agentType), config.perAgentType[agentType])
  return out
}

/** The dimensions a request on `model` for `agentType` counts in. */
export const dimsOf = (model: string, agentType: string | undefined): ReadonlyArray<string> => {
  const key = agentType === undefined ? model : `${model}\u0000${agentType}`
  const known = dimsMemo.get(key)
  if (known !== undefined) return known
  const computed = agentType === undefined ? [dims.global, dims.model(model)] : [dims.global, dims.model(model), dims.agentType(agentType)]
  if (dimsMemo.size < 1_024 && key.length <= memoMaxKey) dimsMemo.set(key, computed)
  return computed
}

const dimsMemo = new Map<string, ReadonlyArray<string>>()

/** `thresholds` sorted ascending with their exact fractions (millionths), memoised per config array. */
const sortedThresholds = (thresholds: ReadonlyArray<number>): ReadonlyArray<{ readonly threshold: number; readonly millionths: bigint }> => {
  let known = thresholdsMemo.get(thresholds)
  if (known === undefined) {
    known = [...thresholds].sort((a, b) => a - b).map((threshold) => ({ threshold, millionths: BigInt(Math.round(threshold * 1_000_000)) }))
    thresholdsMemo.set(thresholds, known)
  }
  return known
}

const thresholdsMemo = new WeakMap<ReadonlyArray<number>, ReadonlyArray<{ readonly threshold: number; readonly millionths: bigint }>>()

interface Totals {
  start: number
  /** This instance's spend (commits; at start, its rows in the store). */
  readonly spent: Map<string, bigint>
  /** Everyone else's, as of the last sync (or the seed). */
  others: Map<string, bigint>
}

interface Held {
  readonly dims: ReadonlyArray<string>
  readonly amount: bigint
}

/** A budget that crossed a threshold. */
export interface Crossing {
  readonly budget: Budget
  readonly threshold: number
  readonly periodStart: number
  readonly spent: bigint
}

/** How many agent types a `BudgetBook` keeps the spend of, by default (more only when more have budgets). */
export const defaultMaxAgentTypes = 10_000

/** How many characters of agent-type names a `BudgetBook` keeps, by default (an agent type is whatever a request names). */
export const defaultMaxAgentTypeChars = 1_000_000

const agentTypePrefix = "agentType:"

/**
 * Mutable budget state; touch it only inside one `Effect.sync`.
 *
 * Bounded whatever the requests: a reservation's entry goes when its last
 * hold is released; the spend of at most `maxAgentTypes` agent types (and
 * `maxAgentTypeChars` characters of their names) is kept this month: every one
 * with a budget, then those spent on most recently (a budget added later for
 * an agent type forgotten meanwhile counts from then).
 */
export class BudgetBook {
  private readonly totals: Record<Period, Totals> = {
    daily: { start: 0, spent: new Map(), others: new Map() },
    monthly: { start: 0, spent: new Map(), others: new Map() }
  }
  private readonly held = new Map<string, Held>()
  private readonly reserved = new Map<string, bigint>()
  private readonly alerted = new Set<string>()
  /** Agent-type dimensions with spend this month, least recently spent on first. */
  private readonly agentTypes = new Map<string, undefined>()
  private agentTypeChars = 0
  /** `roll` changes nothing before this instant: the end of the earliest current period. */
  private rollUntil = Number.NEGATIVE_INFINITY

  constructor(
    private readonly maxAgentTypes: number = defaultMaxAgentTypes,
    private readonly maxAgentTypeChars: number = defaultMaxAgentTypeChars
  ) {}

  /** Move to the periods containing `now` (a new period starts from zero). */
  roll(now: number): void {
    if (now < this.rollUntil) return
    for (const period of ["daily", "monthly"] as const) {
      const { start } = periodBounds(period, now)
      const totals = this.totals[period]
      if (start > totals.start) {
        const stale = `|${period}|${totals.start}`
        for (const key of this.alerted) if (key.includes(stale)) this.alerted.delete(key)
        totals.start = start
        totals.spent.clear()
        totals.others = new Map()
        if (period === "monthly") {
          this.agentTypes.clear()
          this.agentTypeChars = 0
        }
      }
    }
    this.rollUntil = Math.min(periodBounds("daily", this.totals.daily.start).end, periodBounds("monthly", this.totals.monthly.start).end)
  }

  /** Start of the current `period`. */
  start(period: Period): number {
    return this.totals[period].start
  }

  /** Spent (committed here, plus the others' spend) in the current period on `dim`. */
  spent(period: Period, dim: string): bigint {
    const totals = this.totals[period]
    return (totals.spent.get(dim) ?? 0n) + (totals.others.get(dim) ?? 0n)
  }

  /** Held by open reservations on `dim`. */
  reservedOn(dim: string): bigint {
    return this.reserved.get(dim) ?? 0n
  }

  /**
   * Set the others' spend of `dim` in the current `period` (seeding from the store, whose rows at
   * start are none of this run's: the month first, then the day, so `bound` keeps today's agent types first).
   */
  seed(period: Period, dim: string, amount: bigint): void {
    this.totals[period].others.set(dim, amount)
    if (dim.startsWith(agentTypePrefix)) this.recent(dim)
  }

  /** Set this instance's own spend of `dim` in the current `period` (its rows in the store at start). */
  seedOwn(period: Period, dim: string, amount: bigint): void {
    this.totals[period].spent.set(dim, amount)
    if (dim.startsWith(agentTypePrefix)) this.recent(dim)
  }

  /**
   * Replace the others' spend of `period` by `amounts` (by dimension), read
   * for the period starting at `start`: ignored (false) when the book has
   * moved to another period since. Agent types beyond the bound are
   * forgotten as `bound` does (`budgeted` never).
   */
  replaceOthers(period: Period, start: number, amounts: ReadonlyMap<string, bigint>, budgeted: Readonly<Record<string, unknown>> = {}): boolean {
    const totals = this.totals[period]
    if (start !== totals.start) return false
    totals.others = new Map(amounts)
    for (const dim of amounts.keys()) if (dim.startsWith(agentTypePrefix)) this.recent(dim)
    if (this.agentTypes.size > this.maxAgentTypes || this.agentTypeChars > this.maxAgentTypeChars) this.bound(budgeted)
    return true
  }

  /**
   * Add a seeded or committed amount at instant `at` (ignored when `at` is in
   * an earlier period). `budgeted` (the configured per-agent-type budgets)
   * names the agent types whose spend is never forgotten.
   */
  add(at: number, dimensions: ReadonlyArray<string>, amount: bigint, budgeted: Readonly<Record<string, unknown>> = {}): void {
    for (const period of ["daily", "monthly"] as const) {
      const totals = this.totals[period]
      if (at < totals.start) continue
      for (const dim of dimensions) totals.spent.set(dim, (totals.spent.get(dim) ?? 0n) + amount)
    }
    for (const dim of dimensions) if (dim.startsWith(agentTypePrefix)) this.spentOn(dim, budgeted)
  }

  /** Note `dim` as the agent type spent on last; forget the least recent ones without a budget beyond the bound. */
  private spentOn(dim: string, budgeted: Readonly<Record<string, unknown>>): void {
    this.recent(dim)
    if (this.agentTypes.size > this.maxAgentTypes || this.agentTypeChars > this.maxAgentTypeChars) this.bound(budgeted)
  }

  /** Move `dim` to the most recent end of the agent types. */
  private recent(dim: string): void {
    if (!this.agentTypes.delete(dim)) this.agentTypeChars += dim.length
    this.agentTypes.set(dim, undefined)
  }

  /** Forget the spend of the least recently spent-on agent types without a budget in `budgeted` until both bounds hold. */
  bound(budgeted: Readonly<Record<string, unknown>>): void {
    for (const oldest of this.agentTypes.keys()) {
      if (this.agentTypes.size <= this.maxAgentTypes && this.agentTypeChars <= this.maxAgentTypeChars) break
      if (Object.hasOwn(budgeted, oldest.slice(agentTypePrefix.length))) continue
      this.agentTypes.delete(oldest)
      this.agentTypeChars -= oldest.length
      for (const totals of [this.totals.daily, this.totals.monthly]) {
        totals.spent.delete(oldest)
        totals.others.delete(oldest)
      }
    }
  }

  /** Whether the book keeps the spend of `dim`: every dimension but an agent type it forgot (`bound`). */
  keeps(dim: string): boolean {
    return !dim.startsWith(agentTypePrefix) || this.agentTypes.has(dim)
  }

  /** How many entries the book holds: reservations by dimension, and spend by dimension this day and month (tests of its bounds). */
  sizes(): { readonly reserved: number; readonly daily: number; readonly monthly: number } {
    const size = ({ others, spent }: Totals) => new Set([...spent.keys(), ...others.keys()]).size
    return { reserved: this.reserved.size, daily: size(this.totals.daily), monthly: size(this.totals.monthly) }
  }

  /**
   * A budget that `amount` more would not fit (a spent budget admits nothing
   * more); undefined when every one fits. Of several, the one a retry waits
   * for: one `amount` exceeds whole (no period's end helps), else the one
   * whose spend (not only holds) refuses it in the period that ends last (a
   * spent month outlasts a spent day), else the first.
   */
  blockingBudget(budgets: ReadonlyArray<Budget>, amount: bigint): Budget | undefined {
    let first: Budget | undefined
    let bySpend: Budget | undefined
    for (const b of budgets) {
      const spent = this.spent(b.period, b.name)
      const used = spent + this.reservedOn(b.name)
      if (used < b.limitPico && used + amount <= b.limitPico) continue
      if (amount > b.limitPico) return b
      first ??= b
      const spentOver = spent >= b.limitPico || spent + amount > b.limitPico
      if (spentOver && (bySpend === undefined || (bySpend.period === "daily" && b.period === "monthly"))) bySpend = b
    }
    return bySpend ?? first
  }

  /** Hold `amount` on `dimensions` under `id`. */
  hold(id: string, dimensions: ReadonlyArray<string>, amount: bigint): void {
    this.held.set(id, { dims: dimensions, amount })
    for (const dim of dimensions) this.reserved.set(dim, this.reservedOn(dim) + amount)
  }

  /** Release the hold `id` (no-op when already released). */
  unhold(id: string): void {
    const held = this.held.get(id)
    if (held === undefined) return
    this.held.delete(id)
    for (const dim of held.dims) {
      const left = this.reservedOn(dim) - held.amount
      if (left === 0n) this.reserved.delete(dim)
      else this.reserved.set(dim, left)
    }
  }

  /**
   * Thresholds of `budgets` crossed now and not alerted yet this period at
   * the budget's limit; marks them alerted. Keyed by the limit too: a reload
   * that raises a limit has its thresholds announced when reached, one back
   * to a limit already announced repeats nothing.
   */
  crossings(budgets: ReadonlyArray<Budget>, thresholds: ReadonlyArray<number>): ReadonlyArray<Crossing> {
    const out: Array<Crossing> = []
    const sorted = sortedThresholds(thresholds)
    for (const budget of budgets) {
      const spent = this.spent(budget.period, budget.name)
      const periodStart = this.start(budget.period)
      const scaled = spent * 1_000_000n
      for (const { millionths, threshold } of sorted) {
        if (scaled < millionths * budget.limitPico) break // sorted: no higher threshold is reached either
        const key = thresholdKey(budget.name, budget.period, periodStart, budget.limitPico, threshold)
        if (!this.alerted.has(key)) {
          this.alerted.add(key)
          out.push({ budget, threshold, periodStart, spent })
        }
      }
    }
    return out
  }

  /** Whether `budget`, now spent, is to be announced: true the first time this period at its limit (as `crossings`). */
  spentFirst(budget: Budget): boolean {
    return this.once(spentKey(budget.name, budget.limitPico), budget.period)
  }

  /**
   * Note a threshold announced before (by an earlier run, from the store) as
   * announced: ignored unless it is of the current period. A threshold of 1
   * or more also marks the budget announced spent at that limit. A limit
   * recorded capped by an earlier version (`LEGACY_CAPPED_LIMIT`) is read as
   * the budget's limit in `config` when that is above it.
   */
  announcedBefore(
    alert: { readonly budget: string; readonly period: string; readonly periodStart: number; readonly threshold: number; readonly limitPicoUsd: bigint },
    config: BudgetsConfig
  ): void {
    const { period } = alert
    if (period !== "daily" && period !== "monthly") return
    if (alert.periodStart !== this.start(period)) return
    const limit = alert.limitPicoUsd === LEGACY_CAPPED_LIMIT ? legacyLimitNow(config, alert.budget, period) : alert.limitPicoUsd
    this.alerted.add(thresholdKey(alert.budget, period, alert.periodStart, limit, alert.threshold))
    if (alert.threshold >= 1) this.once(spentKey(alert.budget, limit), period)
  }

  /** Mark a one-off fact for this period (e.g. "exceeded event published"); true the first time. */
  once(key: string, period: Period): boolean {
    const full = onceKey(key, period, this.start(period))
    if (this.alerted.has(full)) return false
    this.alerted.add(full)
    return true
  }
}

/**
 * The limit an alert recorded by an earlier version holds for any limit above
 * ~$9,007 (2^53 - 1 pico-dollars: its records held safe integers, capped).
 * No configured limit has it (limits are whole micro-dollars), so a stored
 * alert with it is one of those; an alert recorded now holds its limit exact.
 */
const LEGACY_CAPPED_LIMIT = MAX_SAFE_PICO

/**
 * The limit a legacy capped alert (`LEGACY_CAPPED_LIMIT`) of `name` and
 * `period` stands for: the budget's limit now when above the cap (most
 * likely, the limit it was announced at), else the cap itself (which matches
 * no limit: a threshold of the limit now was not announced).
 */
const legacyLimitNow = (config: BudgetsConfig, name: string, period: Period): bigint => {
  const now = allBudgets(config).find((b) => b.name === name && b.period === period)?.limitPico
  return now !== undefined && now > LEGACY_CAPPED_LIMIT ? now : LEGACY_CAPPED_LIMIT
}

/** The `alerted` key of a one-off fact (`once`) in the period starting at `periodStart`. */
const onceKey = (key: string, period: Period, periodStart: number) => `${key}|${period}|${periodStart}`

/** The `alerted` key of a threshold of a budget at a limit in the period starting at `periodStart`. */
const thresholdKey = (name: string, period: Period, periodStart: number, limitPico: bigint, threshold: number) =>
  `${name}|${period}|${periodStart}|${limitPico}|${threshold}`

/** The `once` key of a budget announced spent at a limit. */
const spentKey = (name: string, limitPico: bigint) => `exceeded:${name}:${limitPico}`

/** One configured budget now. */
export interface BudgetStatus {
  readonly budget: string
  readonly period: Period
  readonly periodStart: number
  readonly periodEnd: number
  readonly limitPicoUsd: bigint
  readonly spentPicoUsd: bigint
  readonly reservedPicoUsd: bigint
}

/** Every budget configured, whatever the request. */
export const allBudgets = (config: BudgetsConfig): ReadonlyArray<Budget> => {
  const out: Array<Budget> = []
  const add = (name: string, limit: { readonly daily?: number | undefined; readonly monthly?: number | undefined }) => {
    if (limit.daily !== undefined) out.push({ name, period: "daily", limitPico: usdToPico(limit.daily) })
    if (limit.monthly !== undefined) out.push({ name, period: "monthly", limitPico: usdToPico(limit.monthly) })
  }
  add(dims.global, config.global)
  for (const [model, limit] of Object.entries(config.perModel)) add(dims.model(model), limit)
  for (const [agentType, limit] of Object.entries(config.perAgentType)) add(dims.agentType(agentType), limit)
  return out
}
