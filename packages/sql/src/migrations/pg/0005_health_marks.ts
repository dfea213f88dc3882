/**
 * The models each gateway instance finds unavailable, as SQLite migration
 * 0011 does (`HealthMarkStoreSql`). BIGINT for the epoch ms columns. `IF NOT
 * EXISTS`, so a second migrator racing this one changes nothing.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE IF NOT EXISTS health_marks (
      instance TEXT NOT NULL,
      model TEXT NOT NULL,
      since BIGINT NOT NULL,
      reason TEXT NOT NULL,
      next_probe_at BIGINT,
      written_at BIGINT NOT NULL,
      PRIMARY KEY (instance, model)
    )
  `
})
