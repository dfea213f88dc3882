/**
 * Property-test fixtures for cost aggregation, shared by the tests of every
 * `CostStore` (memory in core, SQLite in sql): arbitraries for cost records
 * and cost queries over a range of days, and an independent oracle that sums
 * the records per group with a plain loop.
 */
import type { CostGroup, CostQuery } from "@modelgate/core/CostStore"
import { fromUsd } from "@modelgate/domain/Money"
import { CostRecord } from "@modelgate/domain/Records"
// The root fast-check (4.x) that the tests run properties with, not effect's bundled 3.x.
import * as fc from "fast-check"

/** One day in epoch milliseconds. */
export const DAY = 86_400_000

let spends = 0

/** A cost record of `usd` at `at` (model "m" on openai, one token each way, a new request id each). */
export const spendOf = (usd: number, at: number): CostRecord =>
  CostRecord.make({
    at,
    requestId: `spend-${++spends}`,
    model: "m",
    provider: "openai",
    promptTokens: 1,
    completionTokens: 1,
    cachedTokens: 0,
    costPicoUsd: fromUsd(usd),
    cacheHit: false
  })

/** The key the oracle uses for the single ungrouped group and for records without a value for the grouped field. */
export const noKey = "∅"

/**
 * Cost records at instants in `[0, days * DAY]`: models a, b, c; providers p, q;
 * optional agent types x, y and API keys k1, k2; costs up to 2^50 pico-dollars.
 */
export const arbCostRecord = (days: number): fc.Arbitrary<CostRecord> =>
  fc
    .record({
      at: fc.integer({ min: 0, max: days * DAY }),
      model: fc.constantFrom("a", "b", "c"),
      provider: fc.constantFrom("p", "q"),
      agentType: fc.option(fc.constantFrom("x", "y"), { nil: undefined }),
      apiKeyId: fc.option(fc.constantFrom("k1", "k2"), { nil: undefined }),
      promptTokens: fc.nat(1_000_000),
      completionTokens: fc.nat(1_000_000),
      cachedTokens: fc.nat(1_000),
      cacheWriteTokens: fc.nat(1_000),
      reasoningTokens: fc.nat(1_000),
      costPicoUsd: fc.integer({ min: 0, max: 2 ** 50 }),
      cacheHit: fc.boolean()
    })
    .map((r) => CostRecord.make({ ...r, requestId: "r" }))

/**
 * Cost queries over the values of `arbCostRecord(days)`: some, all or none of the
 * bounds (in `[0, days * DAY]`), the grouping and the equality filters.
 */
export const arbCostQuery = (days: number): fc.Arbitrary<CostQuery> =>
  fc.record(
    {
      from: fc.integer({ min: 0, max: days * DAY }),
      to: fc.integer({ min: 0, max: days * DAY }),
      groupBy: fc.constantFrom("none", "day", "month", "model", "provider", "agentType", "apiKeyId"),
      model: fc.constantFrom("a", "b", "c"),
      provider: fc.constantFrom("p", "q"),
      agentType: fc.constantFrom("x", "y"),
      apiKeyId: fc.constantFrom("k1", "k2")
    },
    { requiredKeys: [] }
  )

/** The sums the oracle expects of one group. */
export interface ExpectedCost {
  readonly costPicoUsd: bigint
  readonly requests: number
  readonly promptTokens: number
  readonly cacheWriteTokens: number
  readonly reasoningTokens: number
}

/**
 * Independent oracle: per group key (`noKey` for null), the sum of cost, the
 * number of records and the sums of prompt tokens, cache writes and reasoning
 * tokens of the records `query` selects.
 * Written without the store's helpers, so that it cannot share their mistakes.
 */
export const expectedCosts = (records: ReadonlyArray<CostRecord>, query: CostQuery): Map<string, ExpectedCost> => {
  const sums = new Map<string, ExpectedCost>()
  for (const r of records) {
    if (query.from !== undefined && r.at < query.from) continue
    if (query.to !== undefined && r.at >= query.to) continue
    if (query.model !== undefined && r.model !== query.model) continue
    if (query.provider !== undefined && r.provider !== query.provider) continue
    if (query.agentType !== undefined && r.agentType !== query.agentType) continue
    if (query.apiKeyId !== undefined && r.apiKeyId !== query.apiKeyId) continue
    const iso = new Date(r.at).toISOString()
    const g = query.groupBy ?? "none"
    const key = g === "none" ? noKey : g === "day" ? iso.slice(0, 10) : g === "month" ? iso.slice(0, 7) : String(r[g] ?? noKey)
    const sum = sums.get(key) ?? { costPicoUsd: 0n, requests: 0, promptTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }
    sums.set(key, {
      costPicoUsd: sum.costPicoUsd + BigInt(r.costPicoUsd),
      requests: sum.requests + 1,
      promptTokens: sum.promptTokens + r.promptTokens,
      cacheWriteTokens: sum.cacheWriteTokens + r.cacheWriteTokens,
      reasoningTokens: sum.reasoningTokens + r.reasoningTokens
    })
  }
  return sums
}

/** A store's answer in the oracle's shape, to compare with `expectedCosts`. */
export const actualCosts = (groups: ReadonlyArray<CostGroup>): Map<string, ExpectedCost> =>
  new Map(
    groups.map((g) => [
      g.key ?? noKey,
      { costPicoUsd: g.costPicoUsd, requests: g.requests, promptTokens: g.promptTokens, cacheWriteTokens: g.cacheWriteTokens, reasoningTokens: g.reasoningTokens }
    ])
  )
