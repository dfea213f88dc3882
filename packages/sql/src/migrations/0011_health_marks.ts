/**
 * The models each gateway instance finds unavailable, as it shares them with
 * the others on this database (`HealthMarkStore`, `HealthMarkStoreSql`): one
 * row per instance and model, all of an instance's rows replaced by each of
 * its writes (`written_at`, epoch ms, the same on all of them). `since` and
 * `next_probe_at` (NULL: no probe scheduled) are epoch ms. A handful of rows,
 * read whole: no index.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE IF NOT EXISTS health_marks (
      instance TEXT NOT NULL,
      model TEXT NOT NULL,
      since INTEGER NOT NULL,
      reason TEXT NOT NULL,
      next_probe_at INTEGER,
      written_at INTEGER NOT NULL,
      PRIMARY KEY (instance, model)
    )
  `
})
