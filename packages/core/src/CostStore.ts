/**
 * CostStore: cost aggregations straight from the stored cost records. The SQL
 * version lives in `@modelgate/sql/CostStoreSql`; the memory version here reads
 * the memory `RecordStore`.
 *
 * Sums are exact: costs are integer pico-dollars summed as `bigint` (SQLite's
 * 64-bit integer SUM, read as text), so the bound is $9.2M per group in SQLite
 * and none in memory.
 */
import type { StoreError } from "@modelgate/domain/Errors"
import type { BudgetAlertRecord, CostRecord, GatewayRecord } from "@modelgate/domain/Records"
import { Context, Effect, Layer, Schema } from "effect"
import { MemoryRecordStore } from "./RecordStore.js"

/** How to group costs: by UTC day (`YYYY-MM-DD`), UTC month (`YYYY-MM`), or a record field. */
export const CostGroupBy = Schema.Literal("none", "day", "month", "model", "provider", "agentType", "apiKeyId")
export type CostGroupBy = typeof CostGroupBy.Type

/** Which cost records to sum: `from` inclusive, `to` exclusive (epoch ms), and equality filters. */
export const CostQuery = Schema.Struct({
  from: Schema.optional(Schema.Number),
  to: Schema.optional(Schema.Number),
  groupBy: Schema.optional(CostGroupBy),
  model: Schema.optional(Schema.String),
  provider: Schema.optional(Schema.String),
  agentType: Schema.optional(Schema.String),
  apiKeyId: Schema.optional(Schema.String)
})
export type CostQuery = typeof CostQuery.Type

/**
 * The sums of one group. `key` is null when not grouped or when the record has
 * no value for the field. `cachedTokens` (cache reads) and `cacheWriteTokens`
 * are parts of `promptTokens`, `reasoningTokens` a part of `completionTokens`.
 */
export class CostGroup extends Schema.Class<CostGroup>("CostGroup")({
  key: Schema.NullOr(Schema.String),
  costPicoUsd: Schema.BigInt,
  requests: Schema.Number,
  cacheHits: Schema.Number,
  promptTokens: Schema.Number,
  completionTokens: Schema.Number,
  cachedTokens: Schema.Number,
  cacheWriteTokens: Schema.optionalWith(Schema.Number, { default: () => 0 }),
  reasoningTokens: Schema.optionalWith(Schema.Number, { default: () => 0 })
}) {}

/** A budget threshold announced (a stored `BudgetAlertRecord`): which budget, period and limit it was for. */
export interface AnnouncedAlert {
  readonly budget: string
  readonly period: string
  readonly periodStart: number
  readonly threshold: number
  readonly limitPicoUsd: bigint
}

/**
 * Spend of one model and agent type since each instant asked (`costPicoUsd[i]`
 * since `since[i]`), of this instance's rows (`mine`) or of everyone else's
 * (other instances, and rows stored before instances were recorded).
 */
export interface WriterSpend {
  readonly model: string
  readonly agentType: string | null
  readonly mine: boolean
  readonly costPicoUsd: ReadonlyArray<bigint>
}

/** Aggregations over stored cost records. */
export class CostStore extends Context.Tag("@modelgate/core/CostStore")<
  CostStore,
  {
    /** Sums per group for the records matching `query`, ordered by key; no group for no records. */
    readonly costs: (query: CostQuery) => Effect.Effect<ReadonlyArray<CostGroup>, StoreError>
    /**
     * The budget thresholds announced at or after `from` (epoch ms), so that a
     * restarted `CostTracker` does not announce them again this period.
     * Optional: without it, a restart announces them again when next reached.
     */
    readonly alertsSince?: (from: number) => Effect.Effect<ReadonlyArray<AnnouncedAlert>, StoreError>
    /**
     * Spend per model, agent type and writer (`instance`'s rows or anyone
     * else's) since each instant of `since` (epoch ms; one scan from the
     * earliest), so that the `CostTracker` of one of several instances on a
     * database counts what the others spent. Optional: without it, a tracker
     * knows the others' spend only as of its start.
     */
    readonly spendByWriter?: (instance: string, since: ReadonlyArray<number>) => Effect.Effect<ReadonlyArray<WriterSpend>, StoreError>
    /**
     * Store `alert` unless the same threshold (budget, period and its start,
     * threshold, limit) is stored already, at once (not through the
     * `RecordSink`): whether this call stored it. Of several instances on a
     * database that see a threshold crossed at the same time, the one whose
     * claim stores it announces it. Optional: without it, each instance
     * announces what it sees crossed and records it through the sink.
     * Thresholds of two limits are two (the record's limit is exact).
     */
    readonly claimAlert?: (alert: BudgetAlertRecord) => Effect.Effect<boolean, StoreError>
  }
>() {}

/** The UTC day (`YYYY-MM-DD`) of an epoch-ms instant. */
export const utcDay = (at: number): string => new Date(at).toISOString().slice(0, 10)

/** The UTC month (`YYYY-MM`) of an epoch-ms instant. */
export const utcMonth = (at: number): string => new Date(at).toISOString().slice(0, 7)

/** Whether a cost record matches the filters of `query`. */
export const matches = (record: CostRecord, query: CostQuery): boolean =>
  (query.from === undefined || record.at >= query.from) &&
  (query.to === undefined || record.at < query.to) &&
  (query.model === undefined || record.model === query.model) &&
  (query.provider === undefined || record.provider === query.provider) &&
  (query.agentType === undefined || record.agentType === query.agentType) &&
  (query.apiKeyId === undefined || record.apiKeyId === query.apiKeyId)

/** The group key of a record. */
export const groupKey = (record: CostRecord, groupBy: CostGroupBy): string | null => {
  switch (groupBy) {
    case "none":
      return null
    case "day":
      return utcDay(record.at)
    case "month":
      return utcMonth(record.at)
    case "model":
      return record.model
    case "provider":
      return record.provider
    case "agentType":
      return record.agentType ?? null
    case "apiKeyId":
      return record.apiKeyId ?? null
  }
}

/** Aggregate cost records in memory, with the same semantics as the SQL store. */
export const aggregateCosts = (records: Iterable<CostRecord>, query: CostQuery): ReadonlyArray<CostGroup> => {
  const groupBy = query.groupBy ?? "none"
  const groups = new Map<
    string | null,
    { cost: bigint; requests: number; cacheHits: number; prompt: number; completion: number; cached: number; cacheWrites: number; reasoning: number }
  >()
  for (const record of records) {
    if (!matches(record, query)) continue
    const key = groupKey(record, groupBy)
    const group = groups.get(key) ?? { cost: 0n, requests: 0, cacheHits: 0, prompt: 0, completion: 0, cached: 0, cacheWrites: 0, reasoning: 0 }
    group.cost += BigInt(record.costPicoUsd)
    group.requests += 1
    group.cacheHits += record.cacheHit ? 1 : 0
    group.prompt += record.promptTokens
    group.completion += record.completionTokens
    group.cached += record.cachedTokens
    group.cacheWrites += record.cacheWriteTokens
    group.reasoning += record.reasoningTokens
    groups.set(key, group)
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a === b ? 0 : a === null ? -1 : b === null ? 1 : a < b ? -1 : 1))
    .map(([key, g]) =>
      CostGroup.make({
        key,
        costPicoUsd: g.cost,
        requests: g.requests,
        cacheHits: g.cacheHits,
        promptTokens: g.prompt,
        completionTokens: g.completion,
        cachedTokens: g.cached,
        cacheWriteTokens: g.cacheWrites,
        reasoningTokens: g.reasoning
      })
    )
}

/** `spendByWriter` over records in memory, each with the instance that wrote it. */
export const spendByWriter = (
  written: Iterable<{ readonly record: GatewayRecord; readonly instance: string | null }>,
  instance: string,
  since: ReadonlyArray<number>
): ReadonlyArray<WriterSpend> => {
  const from = Math.min(...since)
  const groups = new Map<string, { model: string; agentType: string | null; mine: boolean; cost: Array<bigint> }>()
  for (const { instance: writer, record } of written) {
    if (record._tag !== "CostRecord" || record.at < from) continue
    const mine = writer === instance
    const agentType = record.agentType ?? null
    const key = JSON.stringify([record.model, agentType, mine])
    let group = groups.get(key)
    if (group === undefined) {
      group = { model: record.model, agentType, mine, cost: since.map(() => 0n) }
      groups.set(key, group)
    }
    for (let i = 0; i < since.length; i++) if (record.at >= since[i]!) group.cost[i]! += BigInt(record.costPicoUsd)
  }
  return [...groups.values()].map(({ agentType, cost, mine, model }) => ({ model, agentType, mine, costPicoUsd: cost }))
}

/** A cost store over the memory record store. */
export const makeMemory = Effect.gen(function* () {
  const store = yield* MemoryRecordStore
  const costs = Effect.fn("CostStore.costs")(function* (query: CostQuery) {
    const records = yield* store.all
    return aggregateCosts(
      records.filter((r): r is CostRecord => r._tag === "CostRecord"),
      query
    )
  })
  const alertsSince = Effect.fn("CostStore.alertsSince")(function* (from: number) {
    const records = yield* store.all
    return records.flatMap((r): ReadonlyArray<AnnouncedAlert> =>
      r._tag === "BudgetAlertRecord" && r.at >= from
        ? [{ budget: r.budget, period: r.period, periodStart: r.periodStart, threshold: r.threshold, limitPicoUsd: r.limitPicoUsd }]
        : []
    )
  })
  const spendByWriterMemory = Effect.fn("CostStore.spendByWriter")(function* (instance: string, since: ReadonlyArray<number>) {
    return spendByWriter(yield* store.written, instance, since)
  })
  return CostStore.of({ costs, alertsSince, spendByWriter: spendByWriterMemory })
})

/** The memory cost store (needs the memory record store). */
export const layerMemory: Layer.Layer<CostStore, never, MemoryRecordStore> = Layer.effect(CostStore, makeMemory)
