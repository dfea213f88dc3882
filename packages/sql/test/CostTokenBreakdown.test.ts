/**
 * Cost records keep their cache writes and reasoning tokens apart (migration
 * 0016 / pg 0010), on SQLite and PostgreSQL: they round-trip through the
 * record store (with and without the writer's instance), `/admin/costs`'s
 * and `modelgate costs`'s sums (`CostStoreSql.costs`) and `/v1/metrics`'s
 * (`MetricsStoreSql`) add them up as the memory stores do, and a row written
 * by an earlier version (without them) reads as 0, its totals and cost as
 * they were.
 */
import { SqlClient } from "@effect/sql"
import { assert, layer } from "@effect/vitest"
import { aggregateCosts, CostStore } from "@modelgate/core/CostStore"
import { InstanceId } from "@modelgate/core/InstanceId"
import { aggregateRecords, toSnapshot } from "@modelgate/core/Metrics/Aggregate"
import { MetricsStore } from "@modelgate/core/MetricsStore"
import { RecordStore } from "@modelgate/core/RecordStore"
import { CostRecord } from "@modelgate/domain/Records"
import * as CostStoreSql from "@modelgate/sql/CostStoreSql"
import * as MetricsStoreSql from "@modelgate/sql/MetricsStoreSql"
import * as RecordStoreSql from "@modelgate/sql/RecordStoreSql"
import { Effect, Layer } from "effect"
import { databases, servers } from "./databases.js"

const record = (at: number, model: string, cacheWriteTokens: number, reasoningTokens: number) =>
  CostRecord.make({
    at,
    requestId: `r${at}`,
    model,
    provider: model === "claude" ? "anthropic" : "openai",
    promptTokens: 5_000,
    completionTokens: 300,
    cachedTokens: 1_000,
    cacheWriteTokens,
    reasoningTokens,
    costPicoUsd: 7_000_000 + at,
    cacheHit: false
  })

/** A cost record as an earlier version stored it: no cache writes or reasoning columns (read back as 0). */
const legacy = record(9, "claude", 0, 0)

layer(servers, { timeout: 60_000 })("cost records' cache writes and reasoning tokens", (it) => {
  for (const database of databases) {
    const Stores = Layer.mergeAll(CostStoreSql.layer, MetricsStoreSql.layer).pipe(Layer.provideMerge(database.layer))
    const Writers = [
      ["without", RecordStoreSql.layer],
      ["with", RecordStoreSql.layer.pipe(Layer.provide(Layer.succeed(InstanceId, "i-1")))]
    ] as const

    for (const [instance, Writer] of Writers) {
      it.effect(`on ${database.name}, written ${instance} an instance: stored, summed per group and in the metrics; an older row reads 0`, () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const written = [record(1, "claude", 4_000, 0), record(2, "claude", 2_500, 0), record(3, "o3", 0, 250), record(4, "o3", 0, 120)]
          yield* Effect.flatMap(RecordStore, (s) => s.writeBatch(written)).pipe(Effect.provide(Writer), Effect.scoped)
          yield* sql`INSERT INTO cost_records (at, request_id, model, provider, prompt_tokens, completion_tokens, cached_tokens, cost_pico, cache_hit)
                     VALUES (${legacy.at}, ${legacy.requestId}, ${legacy.model}, ${legacy.provider}, ${legacy.promptTokens}, ${legacy.completionTokens},
                             ${legacy.cachedTokens}, ${legacy.costPicoUsd}, 0)`
          const all = [...written, legacy]

          const groups = yield* (yield* CostStore).costs({ groupBy: "model" })
          assert.deepStrictEqual(groups, aggregateCosts(all, { groupBy: "model" }))
          assert.deepStrictEqual(
            groups.map((g) => [g.key, g.cacheWriteTokens, g.reasoningTokens, g.promptTokens, g.completionTokens, g.costPicoUsd]),
            [
              ["claude", 6_500, 0, 15_000, 900, 21_000_012n],
              ["o3", 0, 370, 10_000, 600, 14_000_007n]
            ]
          )

          const metrics = toSnapshot(yield* (yield* MetricsStore).aggregate({}), {}, "store", 0)
          assert.deepStrictEqual(metrics, toSnapshot(aggregateRecords(all, {}), {}, "store", 0))
          assert.deepStrictEqual(
            [metrics.totals.cacheWriteTokens, metrics.totals.reasoningTokens, metrics.totals.totalTokens],
            [6_500, 370, 5 * 5_300]
          )
        }).pipe(Effect.provide(Stores)))
    }
  }
})
