/**
 * The PostgreSQL database, for several gateway instances sharing their
 * records, costs, metrics, added models, response cache, rate-limit
 * windows, health marks and events: a pooled client on a `postgres://` URL, migrated before first use
 * (`migrations/pg`). The stores are the same as on SQLite; they write on this
 * thread (a write is network I/O, it never blocks the event loop).
 */
import { PgClient, PgMigrator } from "@effect/sql-pg"
import type { CommandExecutor, FileSystem, Path } from "@effect/platform"
import { Migrator, type SqlClient } from "@effect/sql"
import { type StoreError, withoutUrlCredentials } from "@modelgate/domain/Errors"
import { Duration, Effect, Layer, Redacted } from "effect"
import { migrateFully } from "./internal/migrateFully.js"
import { openFailure } from "./internal/openError.js"
import { requireWrites } from "./internal/pgRequireWrites.js"
import schema from "./migrations/pg/0001_schema.js"
import costRecordInstance from "./migrations/pg/0002_cost_record_instance.js"
import recordRetentionIndexes from "./migrations/pg/0003_record_retention_indexes.js"
import limiterUsage from "./migrations/pg/0004_limiter_usage.js"
import healthMarks from "./migrations/pg/0005_health_marks.js"
import eventLog from "./migrations/pg/0006_event_log.js"
import cachePurges from "./migrations/pg/0007_cache_purges.js"
import failoverAgentType from "./migrations/pg/0008_failover_agent_type.js"
import budgetAlertExactLimit from "./migrations/pg/0009_budget_alert_exact_limit.js"
import costRecordTokenBreakdown from "./migrations/pg/0010_cost_record_token_breakdown.js"

export { ReadOnlyDatabase, requireWrites } from "./internal/pgRequireWrites.js"

/** Every PostgreSQL migration, by `<id>_<name>`. Add new ones with the next id; never edit a shipped one. */
export const loader = Migrator.fromRecord({
  "0001_schema": schema,
  "0002_cost_record_instance": costRecordInstance,
  "0003_record_retention_indexes": recordRetentionIndexes,
  "0004_limiter_usage": limiterUsage,
  "0005_health_marks": healthMarks,
  "0006_event_log": eventLog,
  "0007_cache_purges": cachePurges,
  "0008_failover_agent_type": failoverAgentType,
  "0009_budget_alert_exact_limit": budgetAlertExactLimit,
  "0010_cost_record_token_breakdown": costRecordTokenBreakdown
})

/** How to reach the database. */
export interface PostgresOptions {
  /** `postgres://user:password@host:port/database` (`MODELGATE_DATABASE_URL`); kept `Redacted`. */
  readonly url: Redacted.Redacted<string>
  /** Pool size (default 10). */
  readonly maxConnections?: number | undefined
  /** How long to wait for a connection at start (default 10 s). */
  readonly connectTimeout?: Duration.DurationInput | undefined
  /**
   * How long a query may wait for its answer before it fails (default 30 s;
   * a `query_timeout` in the URL wins): a database cut off by the network
   * answers nothing, and a record write must fail (and be retried, the store
   * reported degraded) rather than wait forever.
   */
  readonly queryTimeout?: Duration.DurationInput | undefined
  /**
   * Refuse a database whose sessions take no writes (a hot standby, a
   * reader endpoint, `default_transaction_read_only`, a role without write
   * privileges: the layer's `StoreError` says it is read-only), as a gateway
   * must; default false, for commands that only read (`modelgate costs`).
   */
  readonly requireWrites?: boolean | undefined
}

/** `url` with `query_timeout` (ms, read by `pg`) unless it names one. */
const withQueryTimeout = (url: Redacted.Redacted<string>, timeout: Duration.DurationInput): Redacted.Redacted<string> => {
  const parsed = new URL(Redacted.value(url))
  if (parsed.searchParams.has("query_timeout")) return url
  parsed.searchParams.set("query_timeout", String(Math.ceil(Duration.toMillis(timeout))))
  return Redacted.make(parsed.toString())
}

/** The URL as it may be shown: no password, no user info (`postgres://[redacted]@host:5432/db`). */
export const describeUrl = (url: Redacted.Redacted<string>): string => withoutUrlCredentials(Redacted.value(url))

/**
 * Migrate the database behind `SqlClient` (to the newest migration, whoever
 * else migrates it at the same time); one behind that takes no writes (a
 * standby, a role that may only read) is refused at once (`MigrationsNeedWrites`).
 */
export const migrations = Layer.effectDiscard(migrateFully(loader, PgMigrator.run, requireWrites))

/** `requireWrites`, then `migrations`: a read-only database is refused before the migrator's own failure (a lock it may not take) hides why. */
const writableMigrations = Layer.effectDiscard(Effect.zipRight(requireWrites, migrateFully(loader, PgMigrator.run, requireWrites)))

/**
 * A migrated PostgreSQL database (`SqlClient` and `PgClient`; the migrator
 * needs the platform's services, e.g. `NodeContext.layer`). A database that
 * cannot be reached or migrated, or (with `requireWrites`) written, fails the
 * layer with a `StoreError` naming it without its credentials.
 */
export const layer = (
  options: PostgresOptions
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, StoreError, FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor> =>
  (options.requireWrites === true ? writableMigrations : migrations).pipe(
    Layer.provideMerge(
      PgClient.layer({
        url: withQueryTimeout(options.url, options.queryTimeout ?? Duration.seconds(30)),
        maxConnections: options.maxConnections ?? 10,
        connectTimeout: options.connectTimeout ?? Duration.seconds(10),
        applicationName: "modelgate"
      })
    ),
    Layer.catchAllCause((cause) => Layer.failCause(openFailure(`${describeUrl(options.url)} (MODELGATE_DATABASE_URL)`, cause)))
  )
