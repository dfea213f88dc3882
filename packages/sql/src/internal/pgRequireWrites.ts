/**
 * Whether a PostgreSQL database takes the gateway's writes. A hot standby, a
 * reader endpoint, `default_transaction_read_only` set for the database or
 * the role, or a role granted only SELECT opens and reads without a word;
 * only the first record write would tell, and every record would then wait
 * in memory. `modelgate serve` asks at start (`Postgres.layer`'s
 * `requireWrites`), as it does of a SQLite file (`Sqlite.requireWrites`).
 */
import { SqlClient } from "@effect/sql"
import { Data, Effect } from "effect"

/** The database takes no writes from this connection. */
export class ReadOnlyDatabase extends Data.TaggedError("ReadOnlyDatabase")<{ readonly reason: string }> {
  override get message() {
    return `the database is read-only for this connection (${this.reason}): point MODELGATE_DATABASE_URL at the primary, with a role that may write the gateway's tables`
  }
}

/** PostgreSQL's codes for a write refused: in a read-only transaction (or during recovery), without the privilege. */
const refused: Record<string, string> = { "25006": "read-only transaction", "42501": "permission denied" }

/** The PostgreSQL error code of `u` or of an error it wraps. */
const codeOf = (u: unknown): string | undefined => {
  for (let e = u, depth = 0; typeof e === "object" && e !== null && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === "string") return code
  }
  return undefined
}

/** The message of the innermost error of `u`. */
const innermost = (u: unknown): string => {
  let message = String(u)
  for (let e = u, depth = 0; e instanceof Error && depth < 8; e = (e as { cause?: unknown }).cause, depth++) message = e.message
  return message
}

/**
 * Fail with `ReadOnlyDatabase` when the database takes no writes: the server
 * is in recovery (a standby) or the session's transactions are read-only, or
 * a DELETE of no rows from the record batches (every record's first write) is
 * refused. Anything else it meets (the table not created yet, on a new
 * database) is no answer and passes: the migrator then says what is wrong.
 */
export const requireWrites: Effect.Effect<void, ReadOnlyDatabase, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [session] = yield* sql<{ readonly recovery: boolean; readonly readOnly: string }>`
    SELECT pg_is_in_recovery() AS recovery, current_setting('transaction_read_only') AS "readOnly"`.pipe(Effect.orElseSucceed(() => []))
  if (session?.recovery === true) return yield* new ReadOnlyDatabase({ reason: "the server is a standby, in recovery" })
  if (session?.readOnly === "on") {
    return yield* new ReadOnlyDatabase({ reason: "its transactions are read-only: default_transaction_read_only is on for the database or the role" })
  }
  yield* sql`DELETE FROM record_batches WHERE false`.pipe(
    Effect.catchAll((error) => {
      const code = codeOf(error)
      return code !== undefined && code in refused ? Effect.fail(new ReadOnlyDatabase({ reason: `${refused[code]}: ${innermost(error)}` })) : Effect.void
    })
  )
})
