/**
 * Migrations when several processes open one new database at once (two
 * gateways started together). @effect/sql's migrator takes a failed insert
 * of its bookkeeping rows as "another process is migrating" and returns at
 * once, before that process has committed: the loser then runs on tables that
 * do not exist yet. Here the migrator runs until the database holds the
 * newest shipped migration, again after a short wait while another
 * connection holds the lock (`SQLITE_BUSY` / `SQLITE_LOCKED`; on PostgreSQL
 * a concurrent creation of the bookkeeping table) or is still migrating; any
 * other failure is final. A database already at the newest migration is left
 * alone: the migrator would lock its bookkeeping table, which a hot standby
 * or a role that may only read refuses (`modelgate costs` reads them). A database migrated past the newest shipped
 * migration (by a later version: a downgrade) is refused (`SchemaNewerThanBuild`):
 * the migrator would open it without a word, and this build cannot know what the
 * later migrations changed. A database behind on a connection that takes no
 * writes (`writable` fails: a replica, a read-only file or role) is refused at
 * once (`MigrationsNeedWrites`), naming both migrations: the migrator could
 * only fail, which reads as another connection migrating it.
 */
import { type Migrator, SqlClient, type SqlError } from "@effect/sql"
import { Cause, Data, Effect, Option, Schedule } from "effect"

/** The database is behind the newest shipped migration: another connection is migrating it. */
export class MigrationsPending extends Data.TaggedError("MigrationsPending")<{ readonly applied: number; readonly newest: number }> {
  override get message() {
    return `the database is at migration ${this.applied} while another connection migrates it to ${this.newest}`
  }
}

/** The database was migrated by a later version: it holds migration `applied`, past this build's `newest`. */
export class SchemaNewerThanBuild extends Data.TaggedError("SchemaNewerThanBuild")<{ readonly applied: number; readonly newest: number }> {
  override get message() {
    return `the database is at migration ${this.applied}, newer than this build's newest (${this.newest}): a later version of modelgate migrated it; run that version (or a newer one), or a copy of the database from before the upgrade`
  }
}

/** The database is behind this build's newest migration, and this connection may not write it (`reason`) to migrate it. */
export class MigrationsNeedWrites extends Data.TaggedError("MigrationsNeedWrites")<{ readonly applied: number; readonly newest: number; readonly reason: string }> {
  override get message() {
    return `the database is at migration ${this.applied}, behind this build's ${this.newest}, and cannot be migrated on this connection: ${this.reason}; migrate it once with this version where it may write (modelgate serve migrates at start), or use the version that matches it`
  }
}

/**
 * PostgreSQL's codes for two sessions creating the same table at once (the
 * migrator's bookkeeping table, before its lock can be taken): a unique
 * violation in the catalog, a duplicate table, a deadlock.
 */
const pgContention = new Set(["23505", "42P07", "40P01"])

/** Whether `u` (or an error it wraps) is lock contention: SQLite's, or PostgreSQL's (`pgContention`). */
const isContention = (u: unknown): boolean => {
  for (let e = u, depth = 0; typeof e === "object" && e !== null && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === "string" && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED") || pgContention.has(code))) return true
    if ((e as { _tag?: unknown })._tag === "MigrationsPending") return true
  }
  return false
}

/** Waits between tries: 50 ms apart, for about 30 s (the other process may be slow to start). */
const contentionRetry = Schedule.spaced("50 millis").pipe(Schedule.intersect(Schedule.recurs(600)))

/**
 * Run `loader`'s migrations with `run` (the dialect's migrator:
 * `SqliteMigrator.run`, `PgMigrator.run`) on the `SqlClient` until the
 * database holds the newest of them; fail with `SchemaNewerThanBuild` when it
 * holds a newer one, and with `MigrationsNeedWrites` when it is behind and
 * `writable` (the dialect's check that the connection takes writes) fails.
 */
export const migrateFully = <R>(
  loader: Migrator.Loader,
  run: (options: Migrator.MigratorOptions) => Effect.Effect<unknown, Migrator.MigrationError | SqlError.SqlError, R>,
  writable: Effect.Effect<void, { readonly message: string }, SqlClient.SqlClient>
): Effect.Effect<
  void,
  Migrator.MigrationError | SqlError.SqlError | MigrationsPending | SchemaNewerThanBuild | MigrationsNeedWrites,
  SqlClient.SqlClient | R
> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const newest = Math.max(0, ...(yield* loader).map(([id]) => id))
    const applied = ([row]: ReadonlyArray<{ readonly applied: number | null }>) => Number(row?.applied ?? 0)
    const appliedNow = Effect.map(sql<{ readonly applied: number | null }>`SELECT max(migration_id) AS applied FROM effect_sql_migrations`, applied)
    // Its own text: the SQLite client caches a statement that failed to prepare (no table yet) by its text.
    const appliedBefore = Effect.map(
      sql<{ readonly applied: number | null }>`SELECT coalesce(max(migration_id), 0) AS applied FROM effect_sql_migrations`,
      applied
    )
    const compare = (applied: number): Effect.Effect<void, MigrationsPending | SchemaNewerThanBuild> =>
      applied > newest
        ? Effect.fail(new SchemaNewerThanBuild({ applied, newest }))
        : applied < newest
        ? Effect.fail(new MigrationsPending({ applied, newest }))
        : Effect.void
    // Up to date (or newer): nothing to run, and no lock to take (a standby, a role that may only read, would refuse it).
    // Anything else (no bookkeeping table yet: SQLite dies preparing the statement) is for the migrator to meet.
    const before = yield* appliedBefore.pipe(Effect.asSome, Effect.catchAllCause(() => Effect.succeedNone))
    if (Option.isSome(before) && before.value >= newest) return yield* compare(before.value)
    // Behind, on a connection that may not write: the migrator could only fail (read as another one migrating).
    if (Option.isSome(before)) {
      const applied = before.value
      yield* Effect.mapError(writable, (error) => new MigrationsNeedWrites({ applied, newest, reason: error.message }))
    }
    const once = Effect.flatMap(run({ loader }), () => Effect.flatMap(appliedNow, compare))
    // Defects too: the migrator dies when a migration's statement fails (a lock held elsewhere included).
    yield* Effect.sandbox(once).pipe(
      Effect.retry({ schedule: contentionRetry, while: (cause) => !Cause.isInterruptedOnly(cause) && isContention(Cause.squash(cause)) }),
      Effect.unsandbox
    )
  })
