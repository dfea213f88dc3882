/**
 * The events of every gateway instance on this database, as they share them
 * (`EventLogStore`, `EventLogStoreSql`): one row per event, `data` the event
 * encoded by its Schema (JSON text), `at` its time and `written_at` when its
 * instance wrote it (epoch ms). AUTOINCREMENT: an id is never used again
 * after the rows are pruned, so a reader's cursor never passes new rows.
 * Indexed by `written_at` for the prune.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE IF NOT EXISTS event_log (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      instance TEXT NOT NULL,
      at INTEGER NOT NULL,
      written_at INTEGER NOT NULL,
      data TEXT NOT NULL
    )
  `
  yield* sql`CREATE INDEX IF NOT EXISTS event_log_written_at ON event_log (written_at)`
})
