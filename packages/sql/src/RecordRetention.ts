/**
 * The record retention (`records.retentionDays`, read at start): a fiber in
 * the layer's scope deletes the rows of every record table recorded before
 * now minus the retention, once at start and then every hour, in chunks of a
 * bounded number of rows per statement (`internal/recordRetention.ts`),
 * yielding between chunks. Each run logs once how many rows of each table it
 * removed; a table that fails is logged and tried again at the next run, and
 * no request ever waits on it. On a SQLite file the deletes run on the write
 * worker thread, like the record and cache writes (`RecordWorker`); on
 * `:memory:` and PostgreSQL, on this thread's `SqlClient`. With
 * `retentionDays` 0 (the default) records are kept forever and no fiber runs.
 */
import { SqlClient } from "@effect/sql"
import { GatewayConfig } from "@modelgate/core/GatewayConfig"
import { StoreError } from "@modelgate/domain/Errors"
import { Cause, Clock, Duration, Effect, Layer, Option, type Scope, Schedule, SubscriptionRef } from "effect"
import { defaultChunk, deleteOlderChunk } from "./internal/recordRetention.js"
import { describeSqlError, RecordTable } from "./internal/recordRows.js"
import { chooseWorker, type WriteThread } from "./internal/writeThread.js"

const DAY_MS = 86_400_000

/** Rows removed by a run, per record table (a table with none is absent). */
export type Removed = Readonly<Partial<Record<RecordTable, number>>>

/** A running retention. */
export interface RecordRetention {
  /** Days kept (`records.retentionDays`); 0: records are kept forever and `run` removes nothing. */
  readonly retentionDays: number
  /** Run now (after a run under way): delete what is older than the retention; the rows removed per table. */
  readonly run: Effect.Effect<Removed>
  /** Runs finished so far: the one at start, then one every `every`, and `run`'s. */
  readonly runs: SubscriptionRef.SubscriptionRef<number>
}

/** Options of `make`. */
export interface MakeOptions {
  /** Time between scheduled runs (default 1 hour). */
  readonly every?: Duration.DurationInput | undefined
  /** Rows deleted per statement at most (default 5 000). */
  readonly chunk?: number | undefined
  /** Where the deletes run (default `"auto"`: the worker for a SQLite file of `Sqlite.layer`, this thread otherwise). */
  readonly thread?: WriteThread | undefined
}

/** The deletes on this thread's `SqlClient`. */
const onThisThread = (sql: SqlClient.SqlClient) => (table: RecordTable, before: number, limit: number) =>
  Effect.mapError(deleteOlderChunk(sql, table, before, limit), (error) =>
    new StoreError({ operation: "records.retention", reason: describeSqlError(error) }))

/** `removed` as `12 cost_records, 3 health_checks`. */
const describeRemoved = (removed: Removed): string =>
  Object.entries(removed).map(([table, n]) => `${n} ${table}`).join(", ")

/**
 * Start the retention in the current scope (needs a migrated `SqlClient` and
 * `GatewayConfig`): when `records.retentionDays` is above 0, a fiber runs at
 * once and then every `every`.
 */
export const make = (options: MakeOptions = {}): Effect.Effect<RecordRetention, StoreError, Scope.Scope | SqlClient.SqlClient | GatewayConfig> =>
  Effect.gen(function* () {
    const retentionDays = (yield* (yield* GatewayConfig).get).records.retentionDays
    const chunk = options.chunk ?? defaultChunk
    const runs = yield* SubscriptionRef.make(0)
    if (retentionDays <= 0) {
      return { retentionDays, run: Effect.succeed({}), runs }
    }
    const lock = yield* Effect.makeSemaphore(1)
    const sql = yield* SqlClient.SqlClient
    const deleteChunk = Option.match(yield* chooseWorker(options.thread ?? "auto", "records.retention"), {
      onNone: () => onThisThread(sql),
      onSome: (worker) => worker.deleteRecords
    })

    /** Delete `table`'s rows before `before`, a chunk at a time; adds to `removed` as it goes. */
    const clear = (table: RecordTable, before: number, removed: Partial<Record<RecordTable, number>>) =>
      Effect.gen(function* () {
        while (true) {
          const n = yield* deleteChunk(table, before, chunk)
          if (n > 0) removed[table] = (removed[table] ?? 0) + n
          if (n < chunk) return
          yield* Effect.yieldNow()
        }
      })

    const run = lock.withPermits(1)(
      Effect.gen(function* () {
        const before = (yield* Clock.currentTimeMillis) - retentionDays * DAY_MS
        const removed: Partial<Record<RecordTable, number>> = {}
        const failed: Array<string> = []
        for (const table of RecordTable.literals) {
          yield* clear(table, before, removed).pipe(
            Effect.catchAll((error) => Effect.sync(() => void failed.push(`${table}: ${error.reason}`))),
            Effect.catchAllDefect((defect) => Effect.sync(() => void failed.push(`${table}: ${Cause.pretty(Cause.die(defect))}`)))
          )
        }
        const since = new Date(before).toISOString()
        const summary = describeRemoved(removed)
        if (failed.length > 0) {
          yield* Effect.logWarning(
            `record retention (${retentionDays} days): removed ${summary === "" ? "nothing" : summary} recorded before ${since}; ` +
              `could not delete from ${failed.join("; ")}; tried again at the next run`
          )
        } else if (summary !== "") {
          yield* Effect.logInfo(`record retention (${retentionDays} days): removed ${summary} recorded before ${since}`)
        } else {
          yield* Effect.logDebug(`record retention (${retentionDays} days): nothing recorded before ${since}`)
        }
        yield* SubscriptionRef.update(runs, (n) => n + 1)
        return removed as Removed
      })
    ).pipe(Effect.withSpan("RecordRetention.run"))

    yield* Effect.forkScoped(Effect.repeat(run, Schedule.spaced(options.every ?? Duration.hours(1))))
    return { retentionDays, run, runs }
  })

/**
 * The retention in the layer's scope (needs a migrated `SqlClient` and
 * `GatewayConfig`), as `make` with its defaults. A worker that cannot start is
 * a defect of the layer, with its reason.
 */
export const layer: Layer.Layer<never, never, SqlClient.SqlClient | GatewayConfig> = Layer.scopedDiscard(make()).pipe(Layer.orDie)
