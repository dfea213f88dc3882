/**
 * The SQL `EventLogStore` (`event_log`, SQLite migration 0012, PostgreSQL
 * 0006): the events of every gateway instance on one database, one row per
 * event (JSON text, as its Schema encodes it). The same portable SQL on
 * both; it runs on this thread's `SqlClient` (a sync a second, never on the
 * request path). An append is one statement, or one transaction for a batch
 * of several chunks: a reader sees all of it or none. A read returns this
 * instance's own rows as ids only (their text is not sent back).
 * `event_listeners` holds each instance that has subscribers and when it
 * last said so: the others write their events only while one does. Integer
 * columns come back from PostgreSQL as text and are decoded to numbers.
 */
import { SqlClient, SqlSchema } from "@effect/sql"
import { type EventLogEntry, type EventLogRow, EventLogStore } from "@modelgate/core/EventLogStore"
import { Effect, Layer, Schema } from "effect"
import { storeErrorOf, writeChunked } from "./internal/recordRows.js"
import { Int, timeBound } from "./internal/sqlInt.js"

/** Rows per INSERT: 4 parameters each, well under SQLite's bound-parameter limit (999 before 3.32). */
const chunkRows = 100

/** A row as read: `data` NULL for the reader's own rows. */
const Row = Schema.Struct({
  id: Int,
  instance: Schema.String,
  at: Int,
  data: Schema.NullOr(Schema.String)
})

/** A failure of `event_log.<operation>`, naming it. */
const storeError = storeErrorOf("event_log")

/** Build the SQL event log on the current `SqlClient` (migrations must have run). */
export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  const append = Effect.fn("EventLogStoreSql.append")(
    function* (instance: string, events: ReadonlyArray<EventLogEntry>, writtenAt: number) {
      const rows = events.map((e) => ({ instance, at: timeBound(e.at), written_at: timeBound(writtenAt), data: e.data }))
      yield* writeChunked(sql, rows, chunkRows, (chunk) => sql`INSERT INTO event_log ${sql.insert(chunk)}`)
    },
    Effect.mapError(storeError("append"))
  )

  const findLatest = SqlSchema.single({
    Request: Schema.Void,
    Result: Schema.Struct({ id: Int }),
    execute: () => sql`SELECT COALESCE(MAX(id), 0) AS id FROM event_log`
  })

  const latest = findLatest(undefined).pipe(
    Effect.map(({ id }) => id),
    Effect.mapError(storeError("latest")),
    Effect.withSpan("EventLogStoreSql.latest")
  )

  const findAfter = SqlSchema.findAll({
    Request: Schema.Struct({ instance: Schema.String, after: Schema.Number, limit: Schema.Number }),
    Result: Row,
    // The primary key's range.
    execute: ({ after, instance, limit }) => sql`
      SELECT id, instance, at, CASE WHEN instance = ${instance} THEN NULL ELSE data END AS data FROM event_log
      WHERE id > ${Math.floor(after)}
      ORDER BY id
      LIMIT ${Math.floor(limit)}
    `
  })

  const findMissing = SqlSchema.findAll({
    Request: Schema.Struct({ instance: Schema.String, ids: Schema.Array(Schema.Number) }),
    Result: Row,
    execute: ({ ids, instance }) => sql`
      SELECT id, instance, at, data FROM event_log
      WHERE ${sql.in("id", ids)} AND instance <> ${instance}
      ORDER BY id
    `
  })

  const read = Effect.fn("EventLogStoreSql.read")(
    function* (instance: string, after: number, missing: ReadonlyArray<number>, limit: number) {
      const late = missing.length === 0 ? [] : yield* findMissing({ instance, ids: missing })
      const newer = yield* findAfter({ instance, after, limit })
      const rows: Array<EventLogRow> = []
      for (const r of [...late, ...newer]) {
        if (r.data !== null && r.instance !== instance) rows.push({ id: r.id, instance: r.instance, at: r.at, data: r.data })
      }
      return { ids: newer.map((r) => r.id), rows }
    },
    Effect.mapError(storeError("read"))
  )

  const prune = Effect.fn("EventLogStoreSql.prune")(
    function* (before: number) {
      yield* sql`DELETE FROM event_log WHERE written_at < ${timeBound(before)}`
    },
    Effect.mapError(storeError("prune"))
  )

  const listen = Effect.fn("EventLogStoreSql.listen")(
    function* (instance: string, at: number | undefined) {
      if (at === undefined) yield* sql`DELETE FROM event_listeners WHERE instance = ${instance}`
      else {
        yield* sql`
          INSERT INTO event_listeners (instance, seen_at) VALUES (${instance}, ${timeBound(at)})
          ON CONFLICT (instance) DO UPDATE SET seen_at = excluded.seen_at
        `
      }
    },
    Effect.mapError(storeError("listen"))
  )

  const countListeners = SqlSchema.single({
    Request: Schema.Struct({ instance: Schema.String, since: Schema.Number }),
    Result: Schema.Struct({ n: Int }),
    execute: ({ instance, since }) =>
      sql`SELECT COUNT(*) AS n FROM event_listeners WHERE instance <> ${instance} AND seen_at >= ${timeBound(since)}`
  })

  const listeners = (instance: string, since: number) =>
    countListeners({ instance, since }).pipe(
      Effect.map(({ n }) => n),
      Effect.mapError(storeError("listeners")),
      Effect.withSpan("EventLogStoreSql.listeners")
    )

  return EventLogStore.of({ append, latest, read, prune, listen, listeners })
})

/** The SQL event log (needs a migrated `SqlClient`, e.g. `Postgres.layer`). */
export const layer: Layer.Layer<EventLogStore, never, SqlClient.SqlClient> = Layer.effect(EventLogStore, make)
