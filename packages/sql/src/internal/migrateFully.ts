/**
 * Migrations when several processes open one new database at once (two
 * gateways started together). @effect/sql's migrator takes a failed insert
 * of its bookkeeping rows as "another process is migrating" and returns at
 * once, before that process has committed: the loser then runs on tables that
 * do not exist yet. Here the migrator runs until the database holds the
 * newest shipped migration, again after a short wait while another
 * connection holds the lock (`SQLITE_BUSY` / `SQLITE_LOCKED`) or is still
 * migrating; any other failure is final.
 */
import { type Migrator, SqlClient, type SqlError } from "@effect/sql"
import type { CommandExecutor, FileSystem, Path } from "@effect/platform"
import { SqliteMigrator } from "@effect/sql-sqlite-node"
import { Cause, Data, Effect, Schedule } from "effect"

/** The database is behind the newest shipped migration: another connection is migrating it. */
export class MigrationsPending extends Data.TaggedError("MigrationsPending")<{ readonly applied: number; readonly newest: number }> {
  override get message() {
    return `the database is at migration ${this.applied} while another connection migrates it to ${this.newest}`
  }
}

/** Whether `u` (or an error it wraps) is SQLite's lock contention. */
const isContention = (u: unknown): boolean => {
  for (let e = u, depth = 0; typeof e === "object" && e !== null && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === "string" && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"))) return true
    if ((e as { _tag?: unknown })._tag === "MigrationsPending") return true
  }
  return false
}

/** Waits between tries: 50 ms apart, for about 30 s (the other process may be slow to start). */
const contentionRetry = Schedule.spaced("50 millis").pipe(Schedule.intersect(Schedule.recurs(600)))

/** Run `loader`'s migrations on the `SqlClient` until the database holds the newest of them. */
export const migrateFully = (
  loader: Migrator.Loader
): Effect.Effect<
  void,
  Migrator.MigrationError | SqlError.SqlError | MigrationsPending,
  SqlClient.SqlClient | FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor
> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const newest = Math.max(0, ...(yield* loader).map(([id]) => id))
    const once = Effect.gen(function* () {
      yield* SqliteMigrator.run({ loader })
      const [row] = yield* sql<{ readonly applied: number | null }>`SELECT max(migration_id) AS applied FROM effect_sql_migrations`
      const applied = row?.applied ?? 0
      if (applied < newest) return yield* new MigrationsPending({ applied, newest })
    })
    // Defects too: the migrator dies when a migration's statement fails (a lock held elsewhere included).
    yield* Effect.sandbox(once).pipe(
      Effect.retry({ schedule: contentionRetry, while: (cause) => !Cause.isInterruptedOnly(cause) && isContention(Cause.squash(cause)) }),
      Effect.unsandbox
    )
  })
