/**
 * Budgets hold across gateway instances sharing one store: each instance's
 * tracker reads back, every `budgets.syncIntervalMs`, what the others
 * recorded, and counts it with its own spend in its checks and alerts: never
 * twice (at start, across syncs), not past the end of its period, and a
 * failed read keeps the last figure.
 */
import { assert, describe, it } from "@effect/vitest"
import type { GatewayEvent } from "@modelgate/domain/Events"
import type { ModelMetadata } from "@modelgate/domain/Model"
import { fromUsd, type PicoUsd } from "@modelgate/domain/Money"
import { CostRecord } from "@modelgate/domain/Records"
import { StoreError } from "@modelgate/domain/Errors"
import { Context, Effect, Layer, Logger, Ref, Stream, TestClock } from "effect"
import * as CostStore from "@modelgate/core/CostStore"
import { CostTracker } from "@modelgate/core/CostTracker"
import * as CostTrackerModule from "@modelgate/core/CostTracker"
import { Events } from "@modelgate/core/Events"
import * as GatewayConfig from "@modelgate/core/GatewayConfig"
import { BudgetLimit, BudgetsConfig, defaultConfig, GatewayConfigData, RecordsConfig } from "@modelgate/core/GatewayConfigSchema"
import { InstanceId } from "@modelgate/core/InstanceId"
import * as RecordStore from "@modelgate/core/RecordStore"
import { RecordWriter } from "@modelgate/core/RecordWriter"
import * as AccountingMemory from "@modelgate/core/RecordWriter/Memory"

const SECOND = 1_000
const HOUR = 3_600_000
/** 2026-03-10T00:00:00Z: mid-month, so a new day is not a new month. */
const DAY = Date.UTC(2026, 2, 10)

const model = { id: "a" } as unknown as ModelMetadata
const usd = (n: number): PicoUsd => fromUsd(n)

let seq = 0
const spend = (amount: number, at: number) =>
  CostRecord.make({
    at,
    requestId: `r${++seq}`,
    model: "a",
    provider: "openai",
    promptTokens: 1,
    completionTokens: 1,
    cachedTokens: 0,
    costPicoUsd: usd(amount),
    cacheHit: false
  })

const configWith = (budgets: Partial<typeof BudgetsConfig.Type>) =>
  new GatewayConfigData({
    ...defaultConfig,
    budgets: BudgetsConfig.make({ ...defaultConfig.budgets, global: BudgetLimit.make({ daily: 1 }), syncIntervalMs: SECOND, ...budgets }),
    // records are written when a test flushes, not on their own
    records: RecordsConfig.make({ ...defaultConfig.records, flushIntervalMs: 10 * HOUR })
  })

/** The services of one instance; `published` is what it announced. */
interface Instance {
  readonly costs: CostTracker["Type"]
  readonly flush: Effect.Effect<void>
  readonly published: Effect.Effect<ReadonlyArray<string>>
}

/** One gateway instance named `id` over `records` (the shared store), with its own writer, cost store and tracker. */
const instance = (
  id: string,
  records: Context.Context<RecordStore.RecordStore | RecordStore.MemoryRecordStore>,
  config: GatewayConfigData,
  costStore: (memory: CostStore.CostStore["Type"]) => CostStore.CostStore["Type"] = (memory) => memory
) =>
  Effect.gen(function* () {
    const seen = yield* Ref.make<ReadonlyArray<GatewayEvent>>([])
    const events = Layer.succeed(Events, Events.of({ publish: (e) => Ref.update(seen, (all) => [...all, e]), subscribe: Stream.empty }))
    const shared = Layer.succeedContext(records)
    const store = Layer.effect(CostStore.CostStore, Effect.map(CostStore.makeMemory, costStore)).pipe(Layer.provide(shared))
    const layer = CostTrackerModule.layer.pipe(
      Layer.provide(store),
      Layer.provideMerge(AccountingMemory.layerOver(shared)),
      Layer.provide(events),
      Layer.provide(GatewayConfig.layerStatic(config)),
      Layer.provideMerge(Layer.succeed(InstanceId, id))
    )
    const context = yield* Layer.build(layer)
    const costs = Context.get(context, CostTracker)
    const flush = Effect.provide(Effect.flatMap(RecordWriter, (w) => w.flush), context)
    const published = Effect.map(Ref.get(seen), (all) =>
      all.flatMap((e) => (e._tag === "BudgetThresholdCrossed" ? [`crossed ${e.threshold}`] : e._tag === "BudgetExceeded" ? ["exceeded"] : [])))
    return { costs, flush, published } satisfies Instance
  })

/** Whether `amount` more on model `a` would fit the budgets of `costs` (a dry run: nothing announced). */
const fits = (costs: CostTracker["Type"], amount: number) =>
  costs.checkBudget(model, undefined, usd(amount), true).pipe(Effect.as(true), Effect.catchTag("BudgetExceeded", () => Effect.succeed(false)))

/** The spend `costs` counts on its global budget of `period`, in USD. */
const spentUsd = (costs: CostTracker["Type"], period: "daily" | "monthly") =>
  Effect.map(costs.budgetStatus, (all) => {
    const status = all.find((b) => b.budget === "global" && b.period === period)
    return status === undefined ? -1 : Number(status.spentPicoUsd) / 1e12
  })

/** Let the forked sync fibers run after a clock move. */
const settle = Effect.repeatN(Effect.yieldNow(), 20)

describe("Budgets across instances on one store", () => {
  it.scoped("an instance sees what another recorded after the sync interval, and refuses what would pass the budget", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(DAY + 10 * HOUR)
      const records = yield* RecordStore.makeMemory()
      const config = configWith({})
      const a = yield* instance("a", records, config)
      const b = yield* instance("b", records, config)

      yield* b.costs.record(spend(0.7, DAY + 10 * HOUR))
      yield* b.flush
      assert.isTrue(yield* fits(a.costs, 0.5), "before a sync, A knows nothing of B's spend")

      yield* TestClock.adjust(SECOND)
      yield* settle
      assert.strictEqual(yield* spentUsd(a.costs, "daily"), 0.7)
      assert.isFalse(yield* fits(a.costs, 0.5), "0.7 + 0.5 would pass the $1 budget")
      assert.isTrue(yield* fits(a.costs, 0.3))
      const refused = yield* Effect.flip(a.costs.reserve(model, undefined, usd(0.5)))
      assert.strictEqual(refused._tag, "BudgetExceeded")
      assert.strictEqual(refused.spentUsd, 0.7)
    }))

  it.scoped("nothing is counted twice: the spend stored before start, this instance's own rows, and across syncs", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(DAY + 10 * HOUR)
      const records = yield* RecordStore.makeMemory()
      const config = configWith({ global: BudgetLimit.make({ daily: 10, monthly: 10 }) })
      const b = yield* instance("b", records, config)
      yield* b.costs.record(spend(0.4, DAY + 10 * HOUR))
      yield* b.flush

      const a = yield* instance("a", records, config)
      assert.strictEqual(yield* spentUsd(a.costs, "daily"), 0.4, "seeded with what B stored")
      yield* a.costs.record(spend(0.2, DAY + 10 * HOUR))
      yield* a.flush
      for (let i = 0; i < 3; i++) {
        yield* TestClock.adjust(SECOND)
        yield* settle
        assert.strictEqual(yield* spentUsd(a.costs, "daily"), 0.6, `after sync ${i + 1}: B's 0.4 once, A's own 0.2 once`)
        assert.strictEqual(yield* spentUsd(a.costs, "monthly"), 0.6)
      }
      yield* b.costs.record(spend(0.1, DAY + 10 * HOUR))
      yield* b.flush
      yield* TestClock.adjust(SECOND)
      yield* settle
      assert.strictEqual(yield* spentUsd(a.costs, "daily"), 0.7, "a sync replaces the others' figure, it does not add to it")
      assert.strictEqual(yield* spentUsd(b.costs, "daily"), 0.7, "B counts A's 0.2 the same way")
    }))

  it.scoped("an instance restarted with the same id counts its stored rows once, before and after a sync", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(DAY + 10 * HOUR)
      const records = yield* RecordStore.makeMemory()
      const config = configWith({})
      yield* Effect.scoped(Effect.gen(function* () {
        const first = yield* instance("a", records, config)
        yield* first.costs.record(spend(0.3, DAY + 10 * HOUR))
        yield* first.flush
      }))
      const again = yield* instance("a", records, config)
      assert.strictEqual(yield* spentUsd(again.costs, "daily"), 0.3)
      yield* TestClock.adjust(SECOND)
      yield* settle
      assert.strictEqual(yield* spentUsd(again.costs, "daily"), 0.3, "the sync reads others only: its own rows stay counted")
    }))

  it.scoped("a new day drops the others' spend of the day before, and keeps the month's", () =>
    Effect.gen(function* () {
      const start = DAY + 24 * HOUR - 10 * SECOND // 23:59:50
      yield* TestClock.setTime(start)
      const records = yield* RecordStore.makeMemory()
      const config = configWith({ global: BudgetLimit.make({ daily: 1, monthly: 10 }), syncIntervalMs: 7 * SECOND })
      const a = yield* instance("a", records, config)
      const b = yield* instance("b", records, config)
      yield* b.costs.record(spend(0.7, start))
      yield* b.flush
      yield* TestClock.adjust(7 * SECOND) // 23:59:57, a sync
      yield* settle
      assert.isFalse(yield* fits(a.costs, 0.5))

      yield* TestClock.adjust(4 * SECOND) // 00:00:01 the next day, no sync yet
      yield* settle
      assert.strictEqual(yield* spentUsd(a.costs, "daily"), 0)
      assert.strictEqual(yield* spentUsd(a.costs, "monthly"), 0.7)
      assert.isTrue(yield* fits(a.costs, 0.9))
      yield* TestClock.adjust(3 * SECOND) // 00:00:04, a sync of the new day
      yield* settle
      assert.strictEqual(yield* spentUsd(a.costs, "daily"), 0)
      assert.strictEqual(yield* spentUsd(a.costs, "monthly"), 0.7)
    }))

  it.scoped("a failed sync keeps the last figure, logs once per run of failures, and never fails a request", () =>
    Effect.gen(function* () {
      const logged = yield* Ref.make<ReadonlyArray<string>>([])
      const logger = Logger.make(({ logLevel, message }) =>
        Effect.runSync(Ref.update(logged, (all) => [...all, `${logLevel.label} ${String(message)}`])))
      yield* Effect.gen(function* () {
        yield* TestClock.setTime(DAY + 10 * HOUR)
        const records = yield* RecordStore.makeMemory()
        const config = configWith({})
        const down = yield* Ref.make(false)
        const failing = (memory: CostStore.CostStore["Type"]) =>
          CostStore.CostStore.of({
            ...memory,
            spendByWriter: (id, since) =>
              Effect.flatMap(Ref.get(down), (isDown) =>
                isDown ? new StoreError({ operation: "costs.spendByWriter", reason: "connection refused" }) : memory.spendByWriter!(id, since))
          })
        const a = yield* instance("a", records, config, failing)
        const b = yield* instance("b", records, config)
        yield* b.costs.record(spend(0.4, DAY + 10 * HOUR))
        yield* b.flush
        yield* TestClock.adjust(SECOND)
        yield* settle
        assert.strictEqual(yield* spentUsd(a.costs, "daily"), 0.4)

        yield* Ref.set(down, true)
        yield* b.costs.record(spend(0.3, DAY + 10 * HOUR))
        yield* b.flush
        for (let i = 0; i < 3; i++) {
          yield* TestClock.adjust(SECOND)
          yield* settle
          assert.strictEqual(yield* spentUsd(a.costs, "daily"), 0.4, "the last figure, not zero")
          assert.isFalse(yield* fits(a.costs, 0.7))
          yield* a.costs.checkBudget(model, undefined, usd(0.1))
        }
        const errors = (yield* Ref.get(logged)).filter((l) => l.startsWith("ERROR") && l.includes("budget sync"))
        assert.strictEqual(errors.length, 1, "one log for three failed syncs")

        yield* Ref.set(down, false)
        yield* TestClock.adjust(SECOND)
        yield* settle
        assert.strictEqual(yield* spentUsd(a.costs, "daily"), 0.7)
        yield* Ref.set(down, true)
        yield* TestClock.adjust(SECOND)
        yield* settle
        const again = (yield* Ref.get(logged)).filter((l) => l.startsWith("ERROR") && l.includes("budget sync"))
        assert.strictEqual(again.length, 2, "a new run of failures is logged again")
      }).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
    }))

  it.scoped("a threshold crossed by the others' spend is announced once by the sync", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(DAY + 10 * HOUR)
      const records = yield* RecordStore.makeMemory()
      const config = configWith({ alertThresholds: [0.5] })
      const a = yield* instance("a", records, config)
      // written by an instance whose tracker announced nothing (e.g. an older version)
      yield* Context.get(records, RecordStore.RecordStore).writeBatch([spend(0.6, DAY + 10 * HOUR)]).pipe(
        Effect.provideService(InstanceId, "old")
      )
      for (let i = 0; i < 3; i++) {
        yield* TestClock.adjust(SECOND)
        yield* settle
      }
      assert.deepStrictEqual(yield* a.published, ["crossed 0.5"], "announced by the first sync that saw it, once")

    }))

  it.scoped("a threshold another instance announced and stored is not announced again by the sync", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(DAY + 10 * HOUR)
      const records = yield* RecordStore.makeMemory()
      const config = configWith({ alertThresholds: [0.5] })
      const c = yield* instance("c", records, config)
      const b = yield* instance("b", records, config)
      yield* b.costs.record(spend(0.6, DAY + 10 * HOUR))
      yield* b.flush
      yield* TestClock.adjust(SECOND)
      yield* settle
      assert.deepStrictEqual(yield* b.published, ["crossed 0.5"])
      assert.isFalse(yield* fits(c.costs, 0.5), "C counts B's spend")
      assert.deepStrictEqual(yield* c.published, [], "B's stored alert was read before C's crossing")
    }))

  it.scoped("over a store that cannot read spend by writer, an instance counts what was stored at its start, and its own", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(DAY + 10 * HOUR)
      const records = yield* RecordStore.makeMemory()
      const config = configWith({ global: BudgetLimit.make({ daily: 10 }) })
      const withoutSync = ({ spendByWriter: _, ...rest }: CostStore.CostStore["Type"]) => CostStore.CostStore.of(rest)
      const b = yield* instance("b", records, config)
      yield* b.costs.record(spend(0.4, DAY + 10 * HOUR))
      yield* b.flush
      const a = yield* instance("a", records, config, withoutSync)
      yield* a.costs.record(spend(0.2, DAY + 10 * HOUR))
      yield* b.costs.record(spend(0.1, DAY + 10 * HOUR))
      yield* b.flush
      yield* TestClock.adjust(SECOND)
      yield* settle
      assert.strictEqual(yield* spentUsd(a.costs, "daily"), 0.6, "B's 0.4 from the start, its own 0.2; nothing read since")
    }))
})

describe("Budgets across instances: what a sync reads", () => {
  it.scoped("within the hour a sync reads only today; the month keeps the days before, read again each hour", () =>
    Effect.gen(function* () {
      const MINUTE = 60 * SECOND
      yield* TestClock.setTime(DAY + 10 * HOUR)
      const records = yield* RecordStore.makeMemory()
      const config = configWith({ global: BudgetLimit.make({ daily: 10, monthly: 10 }), syncIntervalMs: 20 * MINUTE })
      const reads: Array<ReadonlyArray<number>> = []
      const recording = (memory: CostStore.CostStore["Type"]) =>
        CostStore.CostStore.of({
          ...memory,
          spendByWriter: (instance, since) => Effect.zipRight(Effect.sync(() => void reads.push(since)), memory.spendByWriter!(instance, since))
        })
      const b = yield* instance("b", records, config)
      yield* b.costs.record(spend(0.5, DAY - 5 * HOUR)) // yesterday
      yield* b.costs.record(spend(0.25, DAY + 9 * HOUR)) // today
      yield* b.flush
      const a = yield* instance("a", records, config, recording)
      const month = Date.UTC(2026, 2, 1)
      const sync = Effect.zipRight(TestClock.adjust(20 * MINUTE), settle)

      yield* sync // 10:20, the first sync: the month
      assert.deepStrictEqual(reads.at(-1), [month, DAY])
      yield* b.costs.record(spend(0.125, DAY + 10 * HOUR))
      yield* b.flush
      yield* sync // 10:40: today only
      assert.deepStrictEqual(reads.at(-1), [DAY])
      assert.strictEqual(yield* spentUsd(a.costs, "daily"), 0.375)
      assert.strictEqual(yield* spentUsd(a.costs, "monthly"), 0.875, "yesterday's 0.5 still counts in the month")

      // A record of yesterday stored late (another instance's slow flush) counts at the next hourly full read.
      yield* b.costs.record(spend(0.0625, DAY - HOUR))
      yield* b.flush
      yield* sync // 11:00: today only, an hour has not passed since 10:20
      assert.deepStrictEqual(reads.at(-1), [DAY])
      assert.strictEqual(yield* spentUsd(a.costs, "monthly"), 0.875)
      yield* sync // 11:20: the month again
      assert.deepStrictEqual(reads.at(-1), [month, DAY])
      assert.strictEqual(yield* spentUsd(a.costs, "monthly"), 0.9375)
      assert.strictEqual(yield* spentUsd(a.costs, "daily"), 0.375)
    }))
})
