/**
 * Record batch ids: the ids of the last record batches committed by a record
 * worker thread, written in the same transaction as the batch's rows. A batch
 * retried after its thread died between COMMIT and its reply finds its id here
 * and is not written twice. Pruned on every write to the last ids (by `seq`),
 * so the table stays small.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE IF NOT EXISTS record_batches (
      seq INTEGER PRIMARY KEY,
      id TEXT NOT NULL UNIQUE
    )
  `
})
