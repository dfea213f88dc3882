/**
 * The SQL `CostStore`: grouped sums over `cost_records`, straight from SQL.
 * Money sums are SQLite 64-bit integer SUMs read as text into `bigint` (exact
 * up to ~$9.2M per group; beyond that SQLite reports an integer overflow).
 */
import { SqlClient, SqlSchema } from "@effect/sql"
import { CostGroup, type CostGroupBy, CostQuery, CostStore } from "@modelgate/core/CostStore"
import { StoreError } from "@modelgate/domain/Errors"
import { Effect, Layer, Schema } from "effect"

const Row = Schema.Struct({
  key: Schema.NullOr(Schema.String),
  cost: Schema.BigInt,
  requests: Schema.Number,
  cache_hits: Schema.Number,
  prompt_tokens: Schema.Number,
  completion_tokens: Schema.Number,
  cached_tokens: Schema.Number
})

const groupExpression: Record<CostGroupBy, string> = {
  none: "NULL",
  day: "strftime('%Y-%m-%d', at / 1000, 'unixepoch')",
  month: "strftime('%Y-%m', at / 1000, 'unixepoch')",
  model: "model",
  provider: "provider",
  agentType: "agent_type",
  apiKeyId: "api_key_id"
}

const AlertRow = Schema.Struct({
  budget: Schema.String,
  period: Schema.String,
  period_start: Schema.Number,
  threshold: Schema.Number,
  limit_pico: Schema.BigInt
})

/** Build the SQL cost store on the current `SqlClient`. */
export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const find = SqlSchema.findAll({
    Request: CostQuery,
    Result: Row,
    execute: (query) => {
      const where = [
        ...(query.from !== undefined ? [sql`at >= ${query.from}`] : []),
        ...(query.to !== undefined ? [sql`at < ${query.to}`] : []),
        ...(query.model !== undefined ? [sql`model = ${query.model}`] : []),
        ...(query.provider !== undefined ? [sql`provider = ${query.provider}`] : []),
        ...(query.agentType !== undefined ? [sql`agent_type = ${query.agentType}`] : []),
        ...(query.apiKeyId !== undefined ? [sql`api_key_id = ${query.apiKeyId}`] : [])
      ]
      const key = sql.literal(groupExpression[query.groupBy ?? "none"])
      return sql`
        SELECT ${key} AS key,
               CAST(SUM(cost_pico) AS TEXT) AS cost,
               COUNT(*) AS requests,
               SUM(cache_hit) AS cache_hits,
               SUM(prompt_tokens) AS prompt_tokens,
               SUM(completion_tokens) AS completion_tokens,
               SUM(cached_tokens) AS cached_tokens
        FROM cost_records
        WHERE ${sql.and(where)}
        GROUP BY 1
        ORDER BY 1
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
          cachedTokens: r.cached_tokens
        })
      )
    },
    Effect.mapError((error) => new StoreError({ operation: "costs.query", reason: error.message }))
  )
  const findAlerts = SqlSchema.findAll({
    Request: Schema.Number,
    Result: AlertRow,
    execute: (from) =>
      sql`SELECT budget, period, period_start, threshold, CAST(limit_pico AS TEXT) AS limit_pico FROM budget_alerts WHERE at >= ${from}`
  })
  const alertsSince = Effect.fn("CostStoreSql.alertsSince")(
    function* (from: number) {
      const rows = yield* findAlerts(from)
      return rows.map((r) => ({ budget: r.budget, period: r.period, periodStart: r.period_start, threshold: r.threshold, limitPicoUsd: r.limit_pico }))
    },
    Effect.mapError((error) => new StoreError({ operation: "budget_alerts.query", reason: error.message }))
  )
  return CostStore.of({ costs, alertsSince })
})

/** The SQL cost store (needs a migrated `SqlClient`). */
export const layer: Layer.Layer<CostStore, never, SqlClient.SqlClient> = Layer.effect(CostStore, make)
