/**
 * Record tables: costs, performance, health checks, rate-limit events, failovers,
 * quality scores, budget alerts. (Owned by the accounting issue.)
 *
 * Times are epoch ms (INTEGER); money is INTEGER pico-dollars (`*_pico`);
 * booleans are 0/1. `performance_records.latency_bucket` is the log bucket of
 * `Metrics/Aggregate.latencyBucket`, so percentiles are a GROUP BY.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE IF NOT EXISTS cost_records (
      id INTEGER PRIMARY KEY,
      at INTEGER NOT NULL,
      request_id TEXT NOT NULL,
      model TEXT NOT NULL,
      provider TEXT NOT NULL,
      api_key_id TEXT,
      agent_type TEXT,
      task_type TEXT,
      prompt_tokens INTEGER NOT NULL,
      completion_tokens INTEGER NOT NULL,
      cached_tokens INTEGER NOT NULL,
      cost_pico INTEGER NOT NULL CHECK (cost_pico >= 0),
      cache_hit INTEGER NOT NULL
    )
  `
  yield* sql`CREATE INDEX IF NOT EXISTS cost_records_at ON cost_records (at)`
  yield* sql`CREATE INDEX IF NOT EXISTS cost_records_model_at ON cost_records (model, at)`
  yield* sql`CREATE INDEX IF NOT EXISTS cost_records_provider_at ON cost_records (provider, at)`
  yield* sql`CREATE INDEX IF NOT EXISTS cost_records_agent_type_at ON cost_records (agent_type, at)`
  yield* sql`CREATE INDEX IF NOT EXISTS cost_records_api_key_at ON cost_records (api_key_id, at)`
  yield* sql`CREATE INDEX IF NOT EXISTS cost_records_request ON cost_records (request_id)`

  yield* sql`
    CREATE TABLE IF NOT EXISTS performance_records (
      id INTEGER PRIMARY KEY,
      at INTEGER NOT NULL,
      request_id TEXT NOT NULL,
      model TEXT NOT NULL,
      provider TEXT NOT NULL,
      agent_type TEXT,
      latency_ms REAL NOT NULL,
      ttft_ms REAL,
      success INTEGER NOT NULL,
      error_class TEXT,
      output_tokens INTEGER NOT NULL,
      streamed INTEGER NOT NULL,
      cache_hit INTEGER NOT NULL,
      latency_bucket INTEGER NOT NULL
    )
  `
  yield* sql`CREATE INDEX IF NOT EXISTS performance_records_at ON performance_records (at)`
  yield* sql`CREATE INDEX IF NOT EXISTS performance_records_model_at ON performance_records (model, at)`
  yield* sql`CREATE INDEX IF NOT EXISTS performance_records_provider_at ON performance_records (provider, at)`
  yield* sql`CREATE INDEX IF NOT EXISTS performance_records_agent_type_at ON performance_records (agent_type, at)`

  yield* sql`
    CREATE TABLE IF NOT EXISTS health_checks (
      id INTEGER PRIMARY KEY,
      at INTEGER NOT NULL,
      model TEXT NOT NULL,
      ok INTEGER NOT NULL,
      latency_ms REAL NOT NULL,
      error_class TEXT,
      source TEXT NOT NULL CHECK (source IN ('probe', 'traffic'))
    )
  `
  yield* sql`CREATE INDEX IF NOT EXISTS health_checks_at ON health_checks (at)`
  yield* sql`CREATE INDEX IF NOT EXISTS health_checks_model_at ON health_checks (model, at)`

  yield* sql`
    CREATE TABLE IF NOT EXISTS rate_limit_events (
      id INTEGER PRIMARY KEY,
      at INTEGER NOT NULL,
      model TEXT NOT NULL,
      kind TEXT NOT NULL CHECK (kind IN ('warning', 'limited', 'reset')),
      dimension TEXT,
      detail TEXT NOT NULL
    )
  `
  yield* sql`CREATE INDEX IF NOT EXISTS rate_limit_events_at ON rate_limit_events (at)`
  yield* sql`CREATE INDEX IF NOT EXISTS rate_limit_events_model_at ON rate_limit_events (model, at)`

  yield* sql`
    CREATE TABLE IF NOT EXISTS failover_events (
      id INTEGER PRIMARY KEY,
      at INTEGER NOT NULL,
      request_id TEXT,
      from_model TEXT NOT NULL,
      to_model TEXT,
      reason TEXT NOT NULL,
      attempt INTEGER NOT NULL,
      elapsed_ms REAL NOT NULL
    )
  `
  yield* sql`CREATE INDEX IF NOT EXISTS failover_events_at ON failover_events (at)`
  yield* sql`CREATE INDEX IF NOT EXISTS failover_events_from_at ON failover_events (from_model, at)`

  yield* sql`
    CREATE TABLE IF NOT EXISTS quality_scores (
      id INTEGER PRIMARY KEY,
      at INTEGER NOT NULL,
      request_id TEXT NOT NULL,
      model TEXT NOT NULL,
      task_type TEXT,
      completeness REAL NOT NULL,
      relevance REAL NOT NULL,
      coherence REAL NOT NULL,
      score REAL NOT NULL,
      low_quality INTEGER NOT NULL
    )
  `
  yield* sql`CREATE INDEX IF NOT EXISTS quality_scores_at ON quality_scores (at)`
  yield* sql`CREATE INDEX IF NOT EXISTS quality_scores_model_task_at ON quality_scores (model, task_type, at)`

  yield* sql`
    CREATE TABLE IF NOT EXISTS budget_alerts (
      id INTEGER PRIMARY KEY,
      at INTEGER NOT NULL,
      budget TEXT NOT NULL,
      period TEXT NOT NULL,
      period_start INTEGER NOT NULL,
      threshold REAL NOT NULL,
      spent_pico INTEGER NOT NULL,
      limit_pico INTEGER NOT NULL
    )
  `
  yield* sql`CREATE INDEX IF NOT EXISTS budget_alerts_at ON budget_alerts (at)`
  yield* sql`CREATE INDEX IF NOT EXISTS budget_alerts_budget_period ON budget_alerts (budget, period, period_start)`
})
