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
import { Effect, Layer } from "effect"
import * as fc from "fast-check"

const DAY = 86_400_000

const arbRecord = fc
  .record({
    at: fc.integer({ min: 0, max: 400 * DAY }),
    model: fc.constantFrom("a", "b", "c"),
    provider: fc.constantFrom("p", "q"),
    agentType: fc.option(fc.constantFrom("x", "y"), { nil: undefined }),
    apiKeyId: fc.option(fc.constantFrom("k1", "k2"), { nil: undefined }),
    promptTokens: fc.nat(1_000_000),
    completionTokens: fc.nat(1_000_000),
    cachedTokens: fc.nat(1_000),
    costPicoUsd: fc.integer({ min: 0, max: 2 ** 50 }),
    cacheHit: fc.boolean()
  })
  .map((r) => CostRecord.make({ ...r, requestId: "r" }))

const arbQuery: fc.Arbitrary<CostQuery> = fc.record(
  {
    from: fc.integer({ min: 0, max: 400 * DAY }),
    to: fc.integer({ min: 0, max: 400 * DAY }),
    groupBy: fc.constantFrom("none", "day", "month", "model", "provider", "agentType", "apiKeyId"),
    model: fc.constantFrom("a", "b", "c"),
    provider: fc.constantFrom("p", "q"),
    agentType: fc.constantFrom("x", "y"),
    apiKeyId: fc.constantFrom("k1", "k2")
  },
  { requiredKeys: [] }
)

/** Independent oracle: per-key sums of cost, requests and prompt tokens with a plain loop. */
const oracle = (records: ReadonlyArray<CostRecord>, q: CostQuery) => {
  const sums = new Map<string, [bigint, number, number]>()
  for (const r of records) {
    if (q.from !== undefined && r.at < q.from) continue
    if (q.to !== undefined && r.at >= q.to) continue
    if (q.model !== undefined && r.model !== q.model) continue
    if (q.provider !== undefined && r.provider !== q.provider) continue
    if (q.agentType !== undefined && r.agentType !== q.agentType) continue
    if (q.apiKeyId !== undefined && r.apiKeyId !== q.apiKeyId) continue
    const iso = new Date(r.at).toISOString()
    const g = q.groupBy ?? "none"
    const key = g === "none" ? "∅" : g === "day" ? iso.slice(0, 10) : g === "month" ? iso.slice(0, 7) : String(r[g] ?? "∅")
    const [cost, n, prompt] = sums.get(key) ?? [0n, 0, 0]
    sums.set(key, [cost + BigInt(r.costPicoUsd), n + 1, prompt + r.promptTokens])
  }
  return sums
}

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
          fc.asyncProperty(fc.array(arbRecord, { maxLength: 80 }), arbQuery, async (records, query) => {
            const groups = await run(records, query)
            const actual = new Map(groups.map((g) => [g.key ?? "∅", [g.costPicoUsd, g.requests, g.promptTokens] as const]))
            assert.deepStrictEqual(actual, new Map([...oracle(records, query)].map(([k, v]) => [k, v as readonly [bigint, number, number]])))
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
