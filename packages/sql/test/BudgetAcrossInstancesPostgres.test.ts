/**
 * Two gateway instances on one PostgreSQL database (two trackers, two
 * instance ids): each budget holds across both. Instance A reads what B
 * stored at the sync interval and refuses a request its own spend would have
 * let through; neither counts anything twice. A threshold both see crossed
 * at the same sync is announced once, by one of them; with limits of
 * thousands of dollars that differ (a reload applied on one instance only), a
 * threshold of each limit is announced, each by the instance with that limit.
 */
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { assert, layer } from "@effect/vitest"
import { CostTracker } from "@modelgate/core/CostTracker"
import * as CostTrackerModule from "@modelgate/core/CostTracker"
import * as Events from "@modelgate/core/Events"
import * as GatewayConfig from "@modelgate/core/GatewayConfig"
import { BudgetLimit, BudgetsConfig, defaultConfig, GatewayConfigData, RecordsConfig } from "@modelgate/core/GatewayConfigSchema"
import { InstanceId } from "@modelgate/core/InstanceId"
import { RecordWriter } from "@modelgate/core/RecordWriter"
import type { GatewayEvent } from "@modelgate/domain/Events"
import type { ModelMetadata } from "@modelgate/domain/Model"
import { fromUsd } from "@modelgate/domain/Money"
import { CostRecord } from "@modelgate/domain/Records"
import * as RecordStoreSql from "@modelgate/sql/RecordStoreSql"
import * as TestPostgres from "@modelgate/testkit/TestPostgres"
import { Chunk, Clock, Context, Effect, Layer, Ref, Stream, TestClock } from "effect"
import { postgres } from "./databases.js"

const SECOND = 1_000
const HOUR = 3_600_000
const NOW = Date.UTC(2026, 2, 10, 10)
const model = { id: "m" } as unknown as ModelMetadata

let seq = 0
const spend = (usd: number) =>
  CostRecord.make({
    at: NOW,
    requestId: `r${++seq}`,
    model: "m",
    provider: "openai",
    agentType: "team",
    promptTokens: 1,
    completionTokens: 1,
    cachedTokens: 0,
    costPicoUsd: fromUsd(usd),
    cacheHit: false
  })

/** The team's monthly budget of `monthly` USD, synced every second; records flushed only when told. */
const teamBudget = (monthly: number) =>
  new GatewayConfigData({
    ...defaultConfig,
    budgets: BudgetsConfig.make({ ...defaultConfig.budgets, perAgentType: { team: BudgetLimit.make({ monthly }) }, syncIntervalMs: SECOND }),
    records: RecordsConfig.make({ ...defaultConfig.records, flushIntervalMs: 10 * HOUR })
  })
const config = teamBudget(1)

/** One instance over the database of `sql`: its own record writer (on this thread), cost store and tracker, and how many thresholds its subscribers saw crossed. */
const instance = (id: string, sql: Context.Context<SqlClient.SqlClient>, gatewayConfig = config) =>
  Effect.gen(function* () {
    const context = yield* Layer.build(
      CostTrackerModule.layer.pipe(
        Layer.provideMerge(RecordStoreSql.layerAccountingWith(RecordStoreSql.layerMain)),
        Layer.provideMerge(Layer.mergeAll(Events.layer, GatewayConfig.layerStatic(gatewayConfig), Layer.succeedContext(sql))),
        Layer.provide(Layer.succeed(InstanceId, id))
      )
    )
    const seen = yield* Ref.make<ReadonlyArray<GatewayEvent>>([])
    yield* Effect.forkScoped(Stream.runForEach(Context.get(context, Events.Events).subscribe, (e) => Ref.update(seen, (all) => [...all, e])))
    for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
    return {
      costs: Context.get(context, CostTracker),
      flush: Context.get(context, RecordWriter).flush,
      crossed: Effect.map(Ref.get(seen), (all) => all.filter((e) => e._tag === "BudgetThresholdCrossed").length),
      /** The thresholds announced here, with the limit of each (USD). */
      alerts: Effect.map(Ref.get(seen), (all) => all.flatMap((e) => (e._tag === "BudgetThresholdCrossed" ? [[e.threshold, e.limitUsd]] : [])))
    }
  })

/** How many alerts are stored (of `threshold` only, when given). */
const storedAlerts = (sql: Context.Context<SqlClient.SqlClient>, threshold?: number) =>
  Effect.flatMap(SqlClient.SqlClient, (s) =>
    s<{ n: string | number }>`SELECT COUNT(*) AS n FROM budget_alerts WHERE ${threshold === undefined ? s`1 = 1` : s`threshold = ${threshold}`}`).pipe(
      Effect.map((rows) => Number(rows[0]!.n)),
      Effect.provide(sql)
    )

/** Whether `amount` USD more for the team would fit (a dry run). */
const fits = (costs: CostTracker["Type"], amount: number) =>
  costs.checkBudget(model, "team", fromUsd(amount), true).pipe(Effect.as(true), Effect.catchTag("BudgetExceeded", () => Effect.succeed(false)))

/** The team's monthly spend as `costs` counts it, in USD. */
const teamSpent = (costs: CostTracker["Type"]) =>
  Effect.map(costs.budgetStatus, (all) => Number(all.find((b) => b.budget === "agentType:team")?.spentPicoUsd ?? -1n) / 1e12)

/** Move the clock one interval and wait until both syncs ran (each sleeps again once its read is back). */
const nextSync = Effect.gen(function* () {
  yield* TestClock.adjust(SECOND)
  const next = (yield* Clock.currentTimeMillis) + SECOND
  while (Chunk.size(Chunk.filter(yield* TestClock.sleeps(), (at) => at === next)) < 2) yield* Effect.yieldNow()
})

layer(Layer.merge(TestPostgres.layer, NodeContext.layer), { timeout: 60_000 })("budgets across instances on PostgreSQL", (it) => {
  it.scoped("A refuses what B's stored spend leaves no room for, after the sync; nothing is counted twice", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW)
      const sql = yield* Layer.build(postgres.layer)
      const a = yield* instance("instance-a", sql)
      const b = yield* instance("instance-b", sql)

      yield* b.costs.record(spend(0.6))
      yield* b.flush
      yield* a.costs.record(spend(0.1))
      yield* a.flush
      assert.isTrue(yield* fits(a.costs, 0.5), "before a sync A counts only its own 0.1")

      yield* nextSync
      assert.strictEqual(yield* teamSpent(a.costs), 0.7)
      assert.strictEqual(yield* teamSpent(b.costs), 0.7)
      assert.isFalse(yield* fits(a.costs, 0.5), "0.7 + 0.5 would pass the team's $1")
      assert.isTrue(yield* fits(a.costs, 0.3))

      yield* nextSync
      assert.strictEqual(yield* teamSpent(a.costs), 0.7, "a second sync replaces, it does not add")
    }).pipe(Effect.orDie))

  it.scoped("a threshold both instances see crossed at the same sync is announced once, by one of them", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW)
      const sql = yield* Layer.build(postgres.layer)
      const a = yield* instance("instance-a", sql)
      const b = yield* instance("instance-b", sql)
      const crossed = Effect.zipWith(a.crossed, b.crossed, (x, y) => x + y)
      yield* a.costs.record(spend(0.3))
      yield* b.costs.record(spend(0.3))
      yield* a.flush
      yield* b.flush
      assert.strictEqual(yield* crossed, 0, "neither crossed 50% alone")

      yield* nextSync
      for (let i = 0; i < 100; i++) yield* Effect.yieldNow()
      yield* a.flush
      yield* b.flush
      assert.strictEqual(yield* crossed, 1, "one BudgetThresholdCrossed between them")
      assert.strictEqual(yield* storedAlerts(sql), 1, "one alert stored")
      yield* nextSync
      assert.strictEqual(yield* crossed, 1, "not announced again at the next sync")

      // A's own request crosses 80%: A announces it (once its claim is stored); B, at its next sync, does not.
      const before = yield* a.crossed
      yield* a.costs.record(spend(0.25))
      for (let i = 0; i < 100 && (yield* a.crossed) === before; i++) yield* Effect.sleep(0).pipe(Effect.zipRight(Effect.yieldNow()))
      yield* nextSync
      for (let i = 0; i < 100; i++) yield* Effect.yieldNow()
      assert.strictEqual(yield* crossed, 2, "80% announced once, by A")
      assert.strictEqual(yield* storedAlerts(sql, 0.8), 1)
    }).pipe(Effect.orDie))

  it.scoped("limits of $10,000 on A and $20,000 on B: each announces its own thresholds, none hidden by the other's", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW)
      const sql = yield* Layer.build(postgres.layer)
      const a = yield* instance("instance-a", sql, teamBudget(10_000))
      const b = yield* instance("instance-b", sql, teamBudget(20_000))
      const settle = Effect.gen(function* () {
        for (let i = 0; i < 100; i++) yield* Effect.sleep(0).pipe(Effect.zipRight(Effect.yieldNow()))
      })
      /** `usd` spent on `on`, its record stored, then both instances' next sync (and the claims it makes). */
      const spendThenSync = (on: typeof a, usd: number) =>
        Effect.gen(function* () {
          yield* on.costs.record(spend(usd))
          yield* settle
          yield* on.flush
          yield* nextSync
          yield* settle
        })

      yield* spendThenSync(a, 5_000)
      assert.deepStrictEqual(yield* a.alerts, [[0.5, 10_000]], "A: 50% of its $10,000")
      assert.deepStrictEqual(yield* b.alerts, [], "B: $5,000 is 25% of its $20,000")

      yield* spendThenSync(b, 5_000)
      assert.deepStrictEqual(yield* b.alerts, [[0.5, 20_000]], "B: 50% of its $20,000, though A announced 50% of $10,000")
      assert.deepStrictEqual(yield* a.alerts, [[0.5, 10_000], [0.8, 10_000], [1, 10_000]])
    }).pipe(Effect.orDie))
})
