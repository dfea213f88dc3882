/**
 * The PostgreSQL schema: every table of the SQLite migrations 0001-0007 as
 * they stand after the last of them, in one step (a PostgreSQL database
 * starts at this version; it never held the older shapes).
 *
 * The columns keep SQLite's meaning so the stores' SQL is the same on both:
 * times are epoch ms (BIGINT), money is pico-dollars (BIGINT, `*_pico`),
 * booleans are 0/1 (SMALLINT: `SUM(success)` counts), fractions and
 * latencies DOUBLE PRECISION. Record ids are identities the database assigns.
 * `model_overrides.seq` keeps the order overrides were first added in (what
 * SQLite's `rowid` gives the SQLite store). The indexes are those the SQLite
 * database keeps after 0005.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE IF NOT EXISTS model_overrides (
      id TEXT PRIMARY KEY,
      seq BIGINT GENERATED ALWAYS AS IDENTITY,
      kind TEXT NOT NULL CHECK (kind IN ('add', 'update')),
      body TEXT NOT NULL,
      updated_at BIGINT NOT NULL
    )
  `
  yield* sql`
    CREATE TABLE IF NOT EXISTS cost_records (
      id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      at BIGINT NOT NULL,
      request_id TEXT NOT NULL,
      model TEXT NOT NULL,
      provider TEXT NOT NULL,
      api_key_id TEXT,
      agent_type TEXT,
      task_type TEXT,
      prompt_tokens BIGINT NOT NULL,
      completion_tokens BIGINT NOT NULL,
      cached_tokens BIGINT NOT NULL,
      cost_pico BIGINT NOT NULL CHECK (cost_pico >= 0),
      cache_hit SMALLINT NOT NULL
    )
  `
  yield* sql`CREATE INDEX IF NOT EXISTS cost_records_at ON cost_records (at)`
  yield* sql`CREATE INDEX IF NOT EXISTS cost_records_model_at ON cost_records (model, at)`
  yield* sql`CREATE INDEX IF NOT EXISTS cost_records_provider_at ON cost_records (provider, at)`
  yield* sql`CREATE INDEX IF NOT EXISTS cost_records_agent_type_at ON cost_records (agent_type, at)`
  yield* sql`CREATE INDEX IF NOT EXISTS cost_records_api_key_at ON cost_records (api_key_id, at)`
  yield* sql`
    CREATE TABLE IF NOT EXISTS performance_records (
      id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      at BIGINT NOT NULL,
      request_id TEXT NOT NULL,
      model TEXT NOT NULL,
      provider TEXT NOT NULL,
      agent_type TEXT,
      latency_ms DOUBLE PRECISION NOT NULL,
      ttft_ms DOUBLE PRECISION,
      success SMALLINT NOT NULL,
      error_class TEXT,
      output_tokens BIGINT NOT NULL,
      streamed SMALLINT NOT NULL,
      cache_hit SMALLINT NOT NULL,
      latency_bucket INTEGER NOT NULL
    )
  `
  yield* sql`CREATE INDEX IF NOT EXISTS performance_records_at ON performance_records (at)`
  yield* sql`CREATE INDEX IF NOT EXISTS performance_records_model_at ON performance_records (model, at)`
  yield* sql`CREATE INDEX IF NOT EXISTS performance_records_provider_at ON performance_records (provider, at)`
  yield* sql`CREATE INDEX IF NOT EXISTS performance_records_agent_type_at ON performance_records (agent_type, at)`
  yield* sql`
    CREATE TABLE IF NOT EXISTS health_checks (
      id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      at BIGINT NOT NULL,
      model TEXT NOT NULL,
      ok SMALLINT NOT NULL,
      latency_ms DOUBLE PRECISION NOT NULL,
      error_class TEXT,
      source TEXT NOT NULL CHECK (source IN ('probe', 'traffic')),
      provider TEXT
    )
  `
  yield* sql`CREATE INDEX IF NOT EXISTS health_checks_at ON health_checks (at)`
  yield* sql`CREATE INDEX IF NOT EXISTS health_checks_model_at ON health_checks (model, at)`
  yield* sql`
    CREATE TABLE IF NOT EXISTS rate_limit_events (
      id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      at BIGINT NOT NULL,
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
      id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      at BIGINT NOT NULL,
      request_id TEXT,
      from_model TEXT NOT NULL,
      to_model TEXT,
      reason TEXT NOT NULL,
      attempt INTEGER NOT NULL,
      elapsed_ms DOUBLE PRECISION NOT NULL,
      provider TEXT
    )
  `
  yield* sql`CREATE INDEX IF NOT EXISTS failover_events_at ON failover_events (at)`
  yield* sql`CREATE INDEX IF NOT EXISTS failover_events_from_at ON failover_events (from_model, at)`
  yield* sql`
    CREATE TABLE IF NOT EXISTS quality_scores (
      id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      at BIGINT NOT NULL,
      request_id TEXT NOT NULL,
      model TEXT NOT NULL,
      task_type TEXT,
      completeness DOUBLE PRECISION NOT NULL,
      relevance DOUBLE PRECISION NOT NULL,
      coherence DOUBLE PRECISION NOT NULL,
      score DOUBLE PRECISION NOT NULL,
      low_quality SMALLINT NOT NULL
    )
  `
  yield* sql`
    CREATE TABLE IF NOT EXISTS budget_alerts (
      id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      at BIGINT NOT NULL,
      budget TEXT NOT NULL,
      period TEXT NOT NULL,
      period_start BIGINT NOT NULL,
      threshold DOUBLE PRECISION NOT NULL,
      spent_pico BIGINT NOT NULL,
      limit_pico BIGINT NOT NULL
    )
  `
  yield* sql`CREATE INDEX IF NOT EXISTS budget_alerts_at ON budget_alerts (at)`
  yield* sql`CREATE INDEX IF NOT EXISTS budget_alerts_budget_period ON budget_alerts (budget, period, period_start)`
  yield* sql`
    CREATE TABLE IF NOT EXISTS cached_responses (
      key TEXT PRIMARY KEY,
      model TEXT NOT NULL,
      response TEXT NOT NULL,
      bytes BIGINT NOT NULL CHECK (bytes >= 0),
      created_at BIGINT NOT NULL,
      expires_at BIGINT NOT NULL,
      last_access BIGINT NOT NULL
    )
  `
  yield* sql`CREATE INDEX IF NOT EXISTS cached_responses_expires_at ON cached_responses (expires_at)`
  yield* sql`CREATE INDEX IF NOT EXISTS cached_responses_last_access ON cached_responses (last_access, key)`
  yield* sql`
    CREATE TABLE IF NOT EXISTS record_batches (
      seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      id TEXT NOT NULL UNIQUE
    )
  `
})
