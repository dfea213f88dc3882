/**
 * The events of every gateway instance on this database, as they share them
 * (`EventLogStore`, `EventLogStoreSql`): one row per event, `data` the event
 * encoded by its Schema (JSON text), `at` its time and `written_at` when its
 * instance wrote it (epoch ms). AUTOINCREMENT: an id is never used again
 * after the rows are pruned, so a reader's cursor never passes new rows.
 * Indexed by `written_at` for the prune. `event_listeners`: the instances
 * with subscribers (the others write their events only while one has some).
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
  // The instances with subscribers, and when each last said so (epoch ms).
  yield* sql`
    CREATE TABLE IF NOT EXISTS event_listeners (
      instance TEXT PRIMARY KEY,
      seen_at INTEGER NOT NULL
    )
  `
})
