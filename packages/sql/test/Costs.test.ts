import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import { type CostQuery, CostStore } from "@modelgate/core/CostStore"
import { RecordStore } from "@modelgate/core/RecordStore"
import { CostRecord } from "@modelgate/domain/Records"
import * as CostStoreSql from "@modelgate/sql/CostStoreSql"
import * as RecordStoreSql from "@modelgate/sql/RecordStoreSql"
import * as Sqlite from "@modelgate/sql/Sqlite"
import { actualCosts, arbCostQuery, arbCostRecord, expectedCosts } from "@modelgate/testkit/CostFixtures"
import { Effect, Layer } from "effect"
import * as fc from "fast-check"

const Stores = Layer.unwrapScoped(
  Effect.gen(function* () {
    const dir = yield* (yield* FileSystem.FileSystem).makeTempDirectoryScoped({ prefix: "modelgate-costs-" })
    return Layer.mergeAll(RecordStoreSql.layer, CostStoreSql.layer).pipe(Layer.provideMerge(Sqlite.layer(`${dir}/costs.db`)))
  })
).pipe(Layer.provide(NodeContext.layer))

describe("CostStoreSql on a SQLite file", () => {
  it.effect("aggregation sums equal the sum of the records for any filter and grouping (exact beyond 2^53)", () =>
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
          fc.asyncProperty(fc.array(arbCostRecord(400), { maxLength: 80 }), arbCostQuery(400), async (records, query) => {
            const groups = await run(records, query)
            assert.deepStrictEqual(actualCosts(groups), expectedCosts(records, query))
          }),
          { numRuns: 120 }
        )
      )
    }).pipe(Effect.provide(Stores)))

  it.effect("sums of large costs stay exact", () =>
    Effect.gen(function* () {
      const big = 2 ** 52 + 1
      const records = Array.from({ length: 8 }, (_, i) =>
        CostRecord.make({ at: i, requestId: `r${i}`, model: "a", provider: "p", promptTokens: 0, completionTokens: 0, cachedTokens: 0, costPicoUsd: big, cacheHit: false })
      )
      yield* (yield* RecordStore).writeBatch(records)
      const [total] = yield* (yield* CostStore).costs({ model: "a", to: 8 })
      assert.strictEqual(total?.costPicoUsd, BigInt(big) * 8n)
    }).pipe(Effect.provide(Stores)))
})
