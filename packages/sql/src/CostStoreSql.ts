/**
 * The SQL `CostStore`: grouped sums over `cost_records`, straight from SQL.
 * Money sums are read as text into `bigint`: exact up to ~$9.2M per group on
 * SQLite (64-bit integer SUMs; beyond that it reports an integer overflow),
 * exact at any size on PostgreSQL (its SUM of BIGINT is NUMERIC). On
 * PostgreSQL it also claims budget alerts (`claimAlert`: one instance of
 * several announces a threshold). An alert's limit is exact, as text
 * (`limit_pico_exact`, migration 0015 / pg 0009); a row written before has
 * only `limit_pico`, read in its place.
 */
import { SqlClient, SqlSchema } from "@effect/sql"
import { CostGroup, type CostGroupBy, CostQuery, CostStore, type WriterSpend } from "@modelgate/core/CostStore"
import { StoreError } from "@modelgate/domain/Errors"
import type { BudgetAlertRecord } from "@modelgate/domain/Records"
import { Effect, Layer, Schema } from "effect"
import { describeSqlError } from "./internal/recordRows.js"
import { Int, timeBound } from "./internal/sqlInt.js"

const Row = Schema.Struct({
  key: Schema.NullOr(Schema.String),
  cost: Schema.BigInt,
  requests: Int,
  cache_hits: Int,
  prompt_tokens: Int,
  completion_tokens: Int,
  cached_tokens: Int,
  cache_write_tokens: Int,
  reasoning_tokens: Int
})

/** The grouping key of each `groupBy`, per dialect (days and months in UTC). */
const groupExpression = (groupBy: CostGroupBy, dialect: "sqlite" | "pg"): string => {
  switch (groupBy) {
    case "none":
      return "NULL"
    case "day":
      return dialect === "pg" ? "to_char(to_timestamp(at / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD')" : "strftime('%Y-%m-%d', at / 1000, 'unixepoch')"
    case "month":
      return dialect === "pg" ? "to_char(to_timestamp(at / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM')" : "strftime('%Y-%m', at / 1000, 'unixepoch')"
    case "model":
      return "model"
    case "provider":
      return "provider"
    case "agentType":
      return "agent_type"
    case "apiKeyId":
      return "api_key_id"
  }
}

const AlertRow = Schema.Struct({
  budget: Schema.String,
  period: Schema.String,
  period_start: Int,
  threshold: Schema.Number,
  limit_pico: Schema.BigInt
})

/** The largest PostgreSQL BIGINT (`budget_alerts.limit_pico`). */
const maxBigint = 9_223_372_036_854_775_807n

/** An alert's exact limit, as decimal text: `limit_pico_exact`, or for a row written before it, `limit_pico`. */
const exactLimit = "COALESCE(limit_pico_exact, CAST(limit_pico AS TEXT))"

const SpendRow = Schema.Struct({
  model: Schema.String,
  agent_type: Schema.NullOr(Schema.String),
  mine: Int
})

/** Decode the rows of `spendByWriter` (`n` sums, `cost_0` ... as text) into `WriterSpend`s. */
const decodeSpend = (n: number) => {
  const Costs = Schema.Struct(Object.fromEntries(Array.from({ length: n }, (_, i) => [`cost_${i}`, Schema.BigInt])))
  const decode = Schema.decodeUnknown(Schema.Array(Schema.extend(SpendRow, Costs)))
  return (rows: ReadonlyArray<unknown>) =>
    Effect.map(decode(rows), (decoded): ReadonlyArray<WriterSpend> =>
      decoded.map((r) => ({
        model: r.model,
        agentType: r.agent_type,
        mine: r.mine === 1,
        costPicoUsd: Array.from({ length: n }, (_, i) => r[`cost_${i}`] as bigint)
      }))
    )
}

/** Build the SQL cost store on the current `SqlClient`. */
export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const dialect = sql.onDialectOrElse({ pg: () => "pg" as const, orElse: () => "sqlite" as const })
  const find = SqlSchema.findAll({
    Request: CostQuery,
    Result: Row,
    execute: (query) => {
      const where = [
        ...(query.from !== undefined ? [sql`at >= ${timeBound(query.from)}`] : []),
        ...(query.to !== undefined ? [sql`at < ${timeBound(query.to)}`] : []),
        ...(query.model !== undefined ? [sql`model = ${query.model}`] : []),
        ...(query.provider !== undefined ? [sql`provider = ${query.provider}`] : []),
        ...(query.agentType !== undefined ? [sql`agent_type = ${query.agentType}`] : []),
        ...(query.apiKeyId !== undefined ? [sql`api_key_id = ${query.apiKeyId}`] : [])
      ]
      const expression = groupExpression(query.groupBy ?? "none", dialect)
      const key = sql.literal(expression)
      // By code point, as the memory store orders: SQLite compares text so (BINARY); PostgreSQL by the
      // database's collation unless told "C" (an expression, not the position `1`, takes a COLLATE).
      const order = sql.literal(dialect === "pg" && expression !== "NULL" ? `${expression} COLLATE "C" NULLS FIRST` : "1 NULLS FIRST")
      return sql`
        SELECT ${key} AS key,
               CAST(SUM(cost_pico) AS TEXT) AS cost,
               COUNT(*) AS requests,
               SUM(cache_hit) AS cache_hits,
               SUM(prompt_tokens) AS prompt_tokens,
               SUM(completion_tokens) AS completion_tokens,
               SUM(cached_tokens) AS cached_tokens,
               SUM(cache_write_tokens) AS cache_write_tokens,
               SUM(reasoning_tokens) AS reasoning_tokens
        FROM cost_records
        WHERE ${sql.and(where)}
        GROUP BY 1
        ORDER BY ${order}
      `
    }
  })
  const costs = Effect.fn("CostStoreSql.costs")(
    function* (query: CostQuery) {
      const rows = yield* find(query)
      return rows.map((r) =>
        CostGroup.make({
          key: r.key,
          costPicoUsd: r.cost,
          requests: r.requests,
          cacheHits: r.cache_hits,
          promptTokens: r.prompt_tokens,
          completionTokens: r.completion_tokens,
          cachedTokens: r.cached_tokens,
          cacheWriteTokens: r.cache_write_tokens,
          reasoningTokens: r.reasoning_tokens
        })
      )
    },
    Effect.mapError((error) => new StoreError({ operation: "costs.query", reason: describeSqlError(error) }))
  )
  const findAlerts = SqlSchema.findAll({
    Request: Schema.Number,
    Result: AlertRow,
    execute: (from) =>
      sql`SELECT budget, period, period_start, threshold, ${sql.literal(exactLimit)} AS limit_pico FROM budget_alerts WHERE at >= ${timeBound(from)} ORDER BY at, id`
  })
  const alertsSince = Effect.fn("CostStoreSql.alertsSince")(
    function* (from: number) {
      const rows = yield* findAlerts(from)
      return rows.map((r) => ({ budget: r.budget, period: r.period, periodStart: r.period_start, threshold: r.threshold, limitPicoUsd: r.limit_pico }))
    },
    Effect.mapError((error) => new StoreError({ operation: "budget_alerts.query", reason: describeSqlError(error) }))
  )
  const spendByWriter = Effect.fn("CostStoreSql.spendByWriter")(
    function* (instance: string, since: ReadonlyArray<number>) {
      if (since.length === 0) return []
      // One range scan on `cost_records_at` from the earliest instant; each later one is a CASE. A row
      // without an instance (written before migration 0008) is another's: `NULL = x` is not true.
      const sums = since.map((from, i) => sql`CAST(SUM(CASE WHEN at >= ${from} THEN cost_pico ELSE 0 END) AS TEXT) AS ${sql(`cost_${i}`)}`)
      const rows = yield* sql<Record<string, unknown>>`
        SELECT model, agent_type, CASE WHEN instance = ${instance} THEN 1 ELSE 0 END AS mine, ${sql.csv(sums)}
        FROM cost_records
        WHERE at >= ${Math.min(...since)}
        GROUP BY 1, 2, 3
      `
      return yield* decodeSpend(since.length)(rows)
    },
    Effect.mapError((error) => new StoreError({ operation: "costs.spendByWriter", reason: describeSqlError(error) }))
  )
  // PostgreSQL only (several instances share it): the lock makes the check and the insert one step
  // between instances' claims (plain reads go on). Claims are rare: a threshold crossed once a period.
  const claimAlert = Effect.fn("CostStoreSql.claimAlert")(
    function* (alert: BudgetAlertRecord) {
      const { at, budget, limitPicoUsd, period, periodStart, spentPicoUsd, threshold } = alert
      const exact = limitPicoUsd.toString()
      // `limit_pico` (NOT NULL) as an instance of the previous version compares it while both run: exact to ~$9.2M.
      const bigint = limitPicoUsd > maxBigint ? maxBigint : limitPicoUsd
      const stored = yield* sql.withTransaction(Effect.zipRight(
        sql`LOCK TABLE budget_alerts IN SHARE ROW EXCLUSIVE MODE`,
        sql`
          INSERT INTO budget_alerts (at, budget, period, period_start, threshold, spent_pico, limit_pico, limit_pico_exact)
          SELECT ${timeBound(at)}, ${budget}, ${period}, ${periodStart}, ${threshold}, ${spentPicoUsd}, ${bigint}, ${exact}
          WHERE NOT EXISTS (
            SELECT 1 FROM budget_alerts
            WHERE budget = ${budget} AND period = ${period} AND period_start = ${periodStart} AND threshold = ${threshold}
              AND ${sql.literal(exactLimit)} = ${exact}
          )
          RETURNING id
        `
      ))
      return stored.length > 0
    },
    Effect.mapError((error) => new StoreError({ operation: "budget_alerts.claim", reason: describeSqlError(error) }))
  )
  return CostStore.of({ costs, alertsSince, spendByWriter, ...(dialect === "pg" ? { claimAlert } : {}) })
})

/** The SQL cost store (needs a migrated `SqlClient`). */
export const layer: Layer.Layer<CostStore, never, SqlClient.SqlClient> = Layer.effect(CostStore, make)
