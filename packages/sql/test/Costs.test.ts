import { SqlClient } from "@effect/sql"
import { assert, describe, layer } from "@effect/vitest"
import { aggregateCosts, type CostQuery, CostStore } from "@modelgate/core/CostStore"
import { RecordStore } from "@modelgate/core/RecordStore"
import { CostRecord } from "@modelgate/domain/Records"
import * as CostStoreSql from "@modelgate/sql/CostStoreSql"
import * as RecordStoreSql from "@modelgate/sql/RecordStoreSql"
import { actualCosts, arbCostQuery, arbCostRecord, DAY, expectedCosts } from "@modelgate/testkit/CostFixtures"
import { Effect, Layer } from "effect"
import * as fc from "fast-check"
import { databases, servers } from "./databases.js"

/**
 * Queries that select records (most of `arbCostQuery`'s select none: bounds
 * out of order, several filters): bounds in order, at most one filter.
 */
const arbSelectingQuery: fc.Arbitrary<CostQuery> = fc
  .record({
    query: arbCostQuery(400),
    from: fc.option(fc.integer({ min: 0, max: 200 * DAY }), { nil: undefined }),
    to: fc.option(fc.integer({ min: 200 * DAY, max: 400 * DAY }), { nil: undefined }),
    filter: fc.constantFrom(undefined, "model", "provider", "agentType", "apiKeyId")
  })
  .map(({ filter, from, query, to }) => ({
    ...(query.groupBy !== undefined ? { groupBy: query.groupBy } : {}),
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
    ...(filter !== undefined && query[filter] !== undefined ? { [filter]: query[filter] } : {})
  }))

const record = (i: number, fields: Partial<CostRecord> = {}) =>
  CostRecord.make({ at: i, requestId: `r${i}`, model: "a", provider: "p", promptTokens: 0, completionTokens: 0, cachedTokens: 0, costPicoUsd: 1, cacheHit: false, ...fields })

layer(servers, { timeout: 60_000 })("CostStoreSql", (it) => {
  for (const database of databases) {
    const Stores = Layer.mergeAll(RecordStoreSql.layer, CostStoreSql.layer).pipe(Layer.provideMerge(database.layer))

    describe(`on ${database.name}`, () => {
      it.effect("aggregation sums equal the sum of the records for any filter and grouping (days and months in UTC, exact beyond 2^53), in key order", () =>
        Effect.gen(function* () {
          const context = yield* Effect.context<RecordStore | CostStore | SqlClient.SqlClient>()
          const run = (records: ReadonlyArray<CostRecord>, query: CostQuery) =>
            Effect.gen(function* () {
              const sql = yield* SqlClient.SqlClient
              yield* sql`DELETE FROM cost_records`
              yield* (yield* RecordStore).writeBatch(records)
              return yield* (yield* CostStore).costs(query)
            }).pipe(Effect.provide(context), Effect.runPromise)
          yield* Effect.promise(() =>
            fc.assert(
              fc.asyncProperty(fc.array(arbCostRecord(400), { maxLength: 80, size: "medium" }), fc.oneof(arbCostQuery(400), arbSelectingQuery), async (records, query) => {
                const groups = await run(records, query)
                assert.deepStrictEqual(actualCosts(groups), expectedCosts(records, query))
                // The order (null first, then by key) and the other sums, as the memory store gives them.
                assert.deepStrictEqual(groups, aggregateCosts(records, query))
              }),
              { numRuns: 120 }
            )
          )
        }).pipe(Effect.provide(Stores)))

      it.effect("groups are ordered by key, records without the field's value first", () =>
        Effect.gen(function* () {
          yield* (yield* RecordStore).writeBatch([record(1, { agentType: "y" }), record(2), record(3, { agentType: "x" })])
          const groups = yield* (yield* CostStore).costs({ groupBy: "agentType" })
          assert.deepStrictEqual(groups.map((g) => g.key), [null, "x", "y"])
        }).pipe(Effect.provide(Stores)))

      it.effect("days and months are UTC calendar days and months, to the millisecond", () =>
        Effect.gen(function* () {
          const day = 86_400_000
          const jan31 = Date.UTC(2024, 0, 31)
          yield* (yield* RecordStore).writeBatch([record(jan31 - 1), record(jan31), record(jan31 + day - 1), record(jan31 + day)])
          const days = yield* (yield* CostStore).costs({ groupBy: "day" })
          assert.deepStrictEqual(days.map((g) => [g.key, g.requests]), [["2024-01-30", 1], ["2024-01-31", 2], ["2024-02-01", 1]])
          const months = yield* (yield* CostStore).costs({ groupBy: "month" })
          assert.deepStrictEqual(months.map((g) => [g.key, g.requests]), [["2024-01", 3], ["2024-02", 1]])
        }).pipe(Effect.provide(Stores)))

      it.effect("bounds between two milliseconds (a span like `from=1.0000001h`) select the records between them", () =>
        Effect.gen(function* () {
          yield* (yield* RecordStore).writeBatch([record(1), record(2), record(3)])
          const [group] = yield* (yield* CostStore).costs({ from: 1.5, to: 3.5 })
          assert.strictEqual(group?.requests, 2)
          const [all] = yield* (yield* CostStore).costs({ from: 0.5, to: 3.0000001 })
          assert.strictEqual(all?.requests, 3)
        }).pipe(Effect.provide(Stores)))

      it.effect("sums of large costs stay exact", () =>
        Effect.gen(function* () {
          const big = 2 ** 52 + 1
          yield* (yield* RecordStore).writeBatch(Array.from({ length: 8 }, (_, i) => record(i, { costPicoUsd: big })))
          const [total] = yield* (yield* CostStore).costs({ model: "a", to: 8 })
          assert.strictEqual(total?.costPicoUsd, BigInt(big) * 8n)
        }).pipe(Effect.provide(Stores)))
    })
  }
})
