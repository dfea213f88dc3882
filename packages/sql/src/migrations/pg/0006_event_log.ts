/**
 * The events of every gateway instance on this database, as SQLite
 * migration 0012 does (`EventLogStoreSql`). An identity column for the ids
 * (never used again), BIGINT for the epoch ms columns. `IF NOT EXISTS`, so a
 * second migrator racing this one changes nothing.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE IF NOT EXISTS event_log (
      id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      instance TEXT NOT NULL,
      at BIGINT NOT NULL,
      written_at BIGINT NOT NULL,
      data TEXT NOT NULL
    )
  `
  yield* sql`CREATE INDEX IF NOT EXISTS event_log_written_at ON event_log (written_at)`
  yield* sql`
    CREATE TABLE IF NOT EXISTS event_listeners (
      instance TEXT PRIMARY KEY,
      seen_at BIGINT NOT NULL
    )
  `
})
