/**
 * The budget sync between instances keeps, of the others' spend this month
 * before today (read once an hour, added to each sync's read of today), no
 * more agent types than the book keeps: agent types are whatever requests
 * name, and another instance's requests may name a new one each. Those the
 * book forgot (beyond its bound, none with a budget) count from their next
 * spend, as in the book; the global and per-model totals stay whole.
 */
import { assert, describe, it } from "@effect/vitest"
import type { WriterSpend } from "@modelgate/core/CostStore"
import { BudgetBook, dims } from "@modelgate/core/CostTracker/Budgets"
import * as Alerts from "@modelgate/core/CostTracker/Alerts"
import * as Sync from "@modelgate/core/CostTracker/Sync"
import { Events } from "@modelgate/core/Events"
import * as GatewayConfig from "@modelgate/core/GatewayConfig"
import { BudgetLimit, BudgetsConfig, defaultConfig, GatewayConfigData } from "@modelgate/core/GatewayConfigSchema"
import { RecordSink } from "@modelgate/core/RecordSink"
import { Effect, Stream, SubscriptionRef, TestClock } from "effect"

/** 2026-03-10T12:00:00Z: mid-month, mid-day. */
const NOW = Date.UTC(2026, 2, 10, 12)
const SECOND = 1_000

const config = new GatewayConfigData({
  ...defaultConfig,
  budgets: BudgetsConfig.make({ ...defaultConfig.budgets, perAgentType: { team: BudgetLimit.make({ monthly: 100 }) }, syncIntervalMs: SECOND })
})

/** Another instance spent 1 (pico) on each of `n` agent types before today, and on `team`. */
const othersBeforeToday = (n: number): ReadonlyArray<WriterSpend> => [
  { model: "a", agentType: "team", mine: false, costPicoUsd: [5n, 0n] },
  ...Array.from({ length: n }, (_, i): WriterSpend => ({ model: "a", agentType: `agent-${i}`, mine: false, costPicoUsd: [1n, 0n] }))
]

/** A sync over a book of 100 agent types, another instance having spent on `team` and 10,000 others before today. */
const started = Effect.gen(function* () {
  yield* TestClock.setTime(NOW)
  const book = new BudgetBook(100)
  book.roll(NOW)
  const events = Events.of({ publish: () => Effect.void, subscribe: Stream.empty })
  const sink = RecordSink.of({ offer: () => Effect.void })
  const ref = yield* SubscriptionRef.make(config)
  const gatewayConfig = GatewayConfig.GatewayConfig.of({ get: SubscriptionRef.get(ref), changes: ref.changes, reload: SubscriptionRef.get(ref) })
  const spent = othersBeforeToday(10_000)
  const sync = Sync.make({
    book,
    instance: "this",
    // Asked for the month and today, or for today only (`since` of one).
    spendByWriter: (_, since) =>
      Effect.succeed(since.length === 2 ? spent : spent.map((g) => ({ ...g, costPicoUsd: [g.costPicoUsd[1]!] }))),
    alertsSince: undefined,
    gatewayConfig,
    alerts: Alerts.make(book, events, sink)
  })
  yield* Effect.forkScoped(sync.run)
  yield* TestClock.adjust(SECOND)
  yield* TestClock.adjust(SECOND)
  return { book, sync, ref }
})

describe("budget sync bounds", () => {
  it.scoped("the month before today keeps at most the book's agent types, the budgeted one and the totals whole", () =>
    Effect.gen(function* () {
      const { book, sync } = yield* started
      assert.isAtMost(sync.keptBeforeToday(), 2 + 100, "global, model:a and at most the book's 100 agent types")
      assert.strictEqual(book.spent("monthly", dims.agentType("team")), 5n)
      assert.strictEqual(book.spent("monthly", dims.global), 10_005n)
      assert.strictEqual(book.spent("monthly", dims.model("a")), 10_005n)
      assert.isAtMost(book.sizes().monthly, 2 + 100)
    }))

  it.scoped("a budget added by a reload for a forgotten agent type counts its month at the next sync", () =>
    Effect.gen(function* () {
      const { book, ref } = yield* started
      assert.strictEqual(book.spent("monthly", dims.agentType("agent-0")), 0n, "forgotten")
      const perAgentType = { team: BudgetLimit.make({ monthly: 100 }), "agent-0": BudgetLimit.make({ monthly: 100 }) }
      yield* SubscriptionRef.set(ref, new GatewayConfigData({ ...config, budgets: BudgetsConfig.make({ ...config.budgets, perAgentType }) }))
      yield* TestClock.adjust(SECOND)
      assert.strictEqual(book.spent("monthly", dims.agentType("agent-0")), 1n)
      assert.strictEqual(book.spent("monthly", dims.agentType("team")), 5n)
    }))
})
