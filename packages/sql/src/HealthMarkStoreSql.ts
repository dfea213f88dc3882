/**
 * The SQL `HealthMarkStore` (`health_marks`, SQLite migration 0011,
 * PostgreSQL 0005): the models each gateway instance on one database finds
 * unavailable. The same portable SQL on both; it runs on this thread's
 * `SqlClient` (a handful of rows a second, never on the request path). A put
 * replaces all of the instance's rows in one transaction, so a reader never
 * sees them half written and a refused put keeps the previous ones. Integer
 * columns come back from PostgreSQL as text and are decoded to numbers.
 */
import { SqlClient, SqlSchema } from "@effect/sql"
import { type HealthMark, HealthMarkStore, type InstanceHealthMark } from "@modelgate/core/HealthMarkStore"
import { Array as Arr, Effect, Layer, Schema } from "effect"
import { storeErrorOf, transaction } from "./internal/recordRows.js"
import { Int, timeBound } from "./internal/sqlInt.js"

/** Rows per INSERT: 6 parameters each, well under SQLite's bound-parameter limit (999 before 3.32). */
const chunkRows = 100

const MarkRow = Schema.Struct({
  instance: Schema.String,
  model: Schema.String,
  since: Int,
  reason: Schema.String,
  next_probe_at: Schema.NullOr(Int)
})

/** A failure of `health_marks.<operation>`, naming it. */
const storeError = storeErrorOf("health_marks")

/** Build the SQL health mark store on the current `SqlClient` (migrations must have run). */
export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  const put = Effect.fn("HealthMarkStoreSql.put")(
    function* (instance: string, marks: ReadonlyArray<HealthMark>, at: number) {
      // One row per model (the primary key): a model named twice keeps its last mark.
      const row = (m: HealthMark) => ({
        instance,
        model: m.model,
        since: timeBound(m.since),
        reason: m.reason,
        next_probe_at: m.nextProbeAt === undefined ? null : timeBound(m.nextProbeAt),
        written_at: timeBound(at)
      })
      const rows = [...new Map(marks.map((m) => [m.model, row(m)])).values()]
      yield* transaction(
        sql,
        Effect.zipRight(
          sql`DELETE FROM health_marks WHERE instance = ${instance}`,
          Effect.forEach(Arr.chunksOf(rows, chunkRows), (chunk) => sql`INSERT INTO health_marks ${sql.insert(chunk)}`, { discard: true })
        )
      )
    },
    Effect.mapError(storeError("put"))
  )

  const findOthers = SqlSchema.findAll({
    Request: Schema.Struct({ instance: Schema.String, since: Schema.Number }),
    Result: MarkRow,
    // A handful of rows: no index.
    execute: ({ instance, since }) => sql`
      SELECT instance, model, since, reason, next_probe_at FROM health_marks
      WHERE instance <> ${instance} AND written_at > ${Math.floor(since)}
      ORDER BY instance, model
    `
  })

  const others = Effect.fn("HealthMarkStoreSql.others")(
    function* (instance: string, since: number) {
      const rows = yield* findOthers({ instance, since })
      return rows.map((r): InstanceHealthMark => ({
        instance: r.instance,
        model: r.model,
        since: r.since,
        reason: r.reason,
        nextProbeAt: r.next_probe_at ?? undefined
      }))
    },
    Effect.mapError(storeError("others"))
  )

  const leave = Effect.fn("HealthMarkStoreSql.leave")(
    function* (instance: string) {
      yield* sql`DELETE FROM health_marks WHERE instance = ${instance}`
    },
    Effect.mapError(storeError("leave"))
  )

  return HealthMarkStore.of({ put, others, leave })
})

/** The SQL health mark store (needs a migrated `SqlClient`, e.g. `Postgres.layer`). */
export const layer: Layer.Layer<HealthMarkStore, never, SqlClient.SqlClient> = Layer.effect(HealthMarkStore, make)
