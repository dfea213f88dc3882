/**
 * Each record kind's table, columns, and values in column order: the one
 * mapping from records to SQL. It builds row objects (`toRow`, for the writer
 * on this thread) and, without any row object, the columns and flat values
 * that cross to the worker thread (`toTableColumns`).
 */
import { latencyBucket } from "@modelgate/core/Metrics/Aggregate"
import { picoToSafeNumber } from "@modelgate/domain/Money"
import type {
  BudgetAlertRecord,
  CostRecord,
  FailoverRecord,
  GatewayRecord,
  HealthCheckRecord,
  PerformanceRecord,
  QualityScoreRecord,
  RateLimitEventRecord
} from "@modelgate/domain/Records"
import type { RecordTable, Row, TableColumns, Value } from "./recordRows.js"

const bool = (b: boolean) => (b ? 1 : 0)
const opt = <A>(a: A | undefined): A | null => (a === undefined ? null : a)

/**
 * A record kind's table, its columns, and its values in the same order,
 * appended to a flat array with one `push` (cheaper than a function per
 * column; test/RecordInsert.test.ts holds every kind's column-to-value pairs).
 */
interface Layout<R> {
  readonly table: RecordTable
  readonly columns: ReadonlyArray<string>
  readonly push: (record: R, values: Array<Value>) => void
  /** The columns with `instance` last: the table names the writing instance (`InstanceId`), when one is given. */
  readonly stamped?: ReadonlyArray<string>
}

const layouts: { readonly [K in GatewayRecord["_tag"]]: Layout<Extract<GatewayRecord, { readonly _tag: K }>> } = {
  CostRecord: {
    table: "cost_records",
    columns: [
      "at", "request_id", "model", "provider", "api_key_id", "agent_type", "task_type", "prompt_tokens",
      "completion_tokens", "cached_tokens", "cost_pico", "cache_hit", "cache_write_tokens", "reasoning_tokens"
    ],
    stamped: [
      "at", "request_id", "model", "provider", "api_key_id", "agent_type", "task_type", "prompt_tokens",
      "completion_tokens", "cached_tokens", "cost_pico", "cache_hit", "cache_write_tokens", "reasoning_tokens", "instance"
    ],
    push: (r: CostRecord, values) =>
      void values.push(
        r.at, r.requestId, r.model, r.provider, opt(r.apiKeyId), opt(r.agentType), opt(r.taskType), r.promptTokens,
        r.completionTokens, r.cachedTokens, r.costPicoUsd, bool(r.cacheHit), r.cacheWriteTokens, r.reasoningTokens
      )
  },
  PerformanceRecord: {
    table: "performance_records",
    columns: [
      "at", "request_id", "model", "provider", "agent_type", "latency_ms", "ttft_ms", "success", "error_class",
      "output_tokens", "streamed", "cache_hit", "latency_bucket"
    ],
    push: (r: PerformanceRecord, values) =>
      void values.push(
        r.at, r.requestId, r.model, r.provider, opt(r.agentType), r.latencyMs, opt(r.timeToFirstTokenMs),
        bool(r.success), opt(r.errorClass), r.outputTokens, bool(r.streamed), bool(r.cacheHit),
        latencyBucket(r.latencyMs)
      )
  },
  HealthCheckRecord: {
    table: "health_checks",
    columns: [
      "at", "model", "ok", "latency_ms", "error_class", "source", "provider"
    ],
    push: (r: HealthCheckRecord, values) =>
      void values.push(
        r.at, r.model, bool(r.ok), r.latencyMs, opt(r.errorClass), r.source, opt(r.provider)
      )
  },
  RateLimitEventRecord: {
    table: "rate_limit_events",
    columns: [
      "at", "model", "kind", "dimension", "detail"
    ],
    push: (r: RateLimitEventRecord, values) =>
      void values.push(
        r.at, r.model, r.kind, opt(r.dimension), r.detail
      )
  },
  FailoverRecord: {
    table: "failover_events",
    columns: [
      "at", "request_id", "from_model", "to_model", "reason", "attempt", "elapsed_ms", "provider", "agent_type"
    ],
    push: (r: FailoverRecord, values) =>
      void values.push(
        r.at, opt(r.requestId), r.from, opt(r.to), r.reason, r.attempt, r.elapsedMs, opt(r.provider), opt(r.agentType)
      )
  },
  QualityScoreRecord: {
    table: "quality_scores",
    columns: [
      "at", "request_id", "model", "task_type", "completeness", "relevance", "coherence", "score", "low_quality"
    ],
    push: (r: QualityScoreRecord, values) =>
      void values.push(
        r.at, r.requestId, r.model, opt(r.taskType), r.completeness, r.relevance, r.coherence, r.score,
        bool(r.lowQuality)
      )
  },
  BudgetAlertRecord: {
    table: "budget_alerts",
    columns: [
      "at", "budget", "period", "period_start", "threshold", "spent_pico", "limit_pico", "limit_pico_exact"
    ],
    // `limit_pico` (NOT NULL, read only for rows without `limit_pico_exact`) is capped at 2^53 - 1 as before.
    push: (r: BudgetAlertRecord, values) =>
      void values.push(
        r.at, r.budget, r.period, r.periodStart, r.threshold, r.spentPicoUsd, picoToSafeNumber(r.limitPicoUsd), r.limitPicoUsd.toString()
      )
  }
}

/** The layout of a record's kind (indexed by its own tag, so it reads this record's fields). */
const layoutOf = (record: GatewayRecord): Layout<GatewayRecord> => layouts[record._tag] as unknown as Layout<GatewayRecord>

/** The columns of a layout, with `instance` when its table takes one and `instance` is given. */
const columnsOf = (layout: Layout<GatewayRecord>, instance: string | undefined) =>
  instance === undefined || layout.stamped === undefined ? layout.columns : layout.stamped

/** The table and row of a record; with `instance`, a cost record's row names it (`instance` column). */
export const toRow = (record: GatewayRecord, instance?: string | undefined): readonly [table: RecordTable, row: Row] => {
  const layout = layoutOf(record)
  const { push, table } = layout
  const columns = columnsOf(layout, instance)
  const values: Array<Value> = []
  push(record, values)
  if (columns !== layout.columns) values.push(instance!)
  const row: Record<string, Value> = {}
  for (let i = 0; i < columns.length; i++) row[columns[i]!] = values[i] ?? null
  return [table, row]
}

/**
 * A batch's records as each table's columns and flat values, tables in
 * first-seen order, rows in record order: what `toColumns` makes of the rows
 * of `toRow` (with the same `instance`), without building them (the worker
 * path's main-thread side).
 */
export const toTableColumns = (records: ReadonlyArray<GatewayRecord>, instance?: string | undefined): ReadonlyArray<TableColumns> => {
  const tables: Array<TableColumns> = []
  const byTag = new Map<string, { readonly push: Layout<GatewayRecord>["push"]; readonly values: Array<Value>; readonly stamp: boolean }>()
  for (const record of records) {
    let table = byTag.get(record._tag)
    if (table === undefined) {
      const layout = layoutOf(record)
      const columns = columnsOf(layout, instance)
      const values: Array<Value> = []
      tables.push({ table: layout.table, columns, values })
      table = { push: layout.push, values, stamp: columns !== layout.columns }
      byTag.set(record._tag, table)
    }
    table.push(record, table.values)
    if (table.stamp) table.values.push(instance!)
  }
  return tables
}
