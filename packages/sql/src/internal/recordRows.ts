/**
 * Record rows as they go into SQL, and the one insert path both record
 * writers use (in-thread and the worker thread): one transaction per batch,
 * one multi-row INSERT per table chunk (under SQLite's parameter limit).
 * Imports nothing from modelgate, so the worker thread loads only this.
 */
import type { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Schema } from "effect"

/** A column value: text, number, or NULL. */
export type Value = string | number | null

/** One row: column name to value. */
export type Row = Readonly<Record<string, Value>>

/** The tables records go to. */
export const RecordTable = Schema.Literal(
  "cost_records",
  "performance_records",
  "health_checks",
  "rate_limit_events",
  "failover_events",
  "quality_scores",
  "budget_alerts"
)
/** A record table's name. */
export type RecordTable = typeof RecordTable.Type

/** The rows of one table. */
export interface TableRows {
  readonly table: RecordTable
  readonly rows: ReadonlyArray<Row>
}

const isValue = (u: unknown): u is Value => u === null || typeof u === "string" || typeof u === "number"

/**
 * Column values, row after row: a declared Schema whose check is a plain
 * loop, so a batch of thousands of values encodes in microseconds.
 */
export const Values = Schema.declare((u: unknown): u is ReadonlyArray<Value> => Array.isArray(u) && u.every(isValue), {
  identifier: "Values",
  description: "column values (string | number | null), row after row"
})

/**
 * The rows of one table as columns and a flat array of values: what crosses
 * to the worker thread (one array of primitives clones several times faster
 * than as many objects as rows).
 */
export const TableColumns = Schema.Struct({
  table: RecordTable,
  columns: Schema.Array(Schema.String),
  values: Values
}).pipe(
  Schema.filter(
    (t) =>
      (t.columns.length === 0 ? t.values.length === 0 : t.values.length % t.columns.length === 0) ||
      `${t.values.length} values do not fill rows of ${t.columns.length} columns`
  )
)
/** The rows of one table as columns and a flat array of values. */
export type TableColumns = typeof TableColumns.Type

/** Rows to columns (every row of a table has the same keys in the same order: `toRow` builds them so). */
export const toColumns = ({ rows, table }: TableRows): TableColumns => {
  const first = rows[0]
  const columns = first === undefined ? [] : Object.keys(first)
  const values: Array<Value> = []
  for (const row of rows) for (const column of columns) values.push(row[column] ?? null)
  return { table, columns, values }
}

/** Columns back to rows. */
export const fromColumns = ({ columns, table, values }: TableColumns): TableRows => {
  const rows: Array<Row> = []
  if (columns.length === 0) return { table, rows }
  for (let i = 0; i < values.length; i += columns.length) {
    const row: Record<string, Value> = {}
    columns.forEach((column, j) => {
      row[column] = values[i + j] ?? null
    })
    rows.push(row)
  }
  return { table, rows }
}

const CHUNK = 50

/** Insert every table's rows in one transaction, `CHUNK` rows per statement. */
export const insertTables = (sql: SqlClient.SqlClient, tables: ReadonlyArray<TableRows>): Effect.Effect<void, SqlError> =>
  tables.length === 0
    ? Effect.void
    : sql.withTransaction(
        Effect.forEach(
          tables.flatMap(({ rows, table }) =>
            Array.from({ length: Math.ceil(rows.length / CHUNK) }, (_, i) => [table, rows.slice(i * CHUNK, (i + 1) * CHUNK)] as const)
          ),
          ([table, rows]) => sql`INSERT INTO ${sql(table)} ${sql.insert(rows)}`,
          { discard: true }
        )
      )

/** How many committed batch ids `record_batches` keeps (the newest). */
export const keepBatchIds = 1_000

/**
 * Insert a batch that carries an id, in one transaction that also records the
 * id in `record_batches` and prunes that table to its `keep` newest ids. A
 * batch whose id is there already was committed before (its writer did not
 * hear back, e.g. the thread died after COMMIT): nothing is written, and the
 * answer is `false`.
 */
export const insertBatch = (
  sql: SqlClient.SqlClient,
  tables: ReadonlyArray<TableRows>,
  batchId: string,
  keep: number = keepBatchIds
): Effect.Effect<boolean, SqlError> =>
  sql.withTransaction(
    Effect.gen(function* () {
      const seen = yield* sql`SELECT 1 AS seen FROM record_batches WHERE id = ${batchId}`
      if (seen.length > 0) return false
      yield* insertTables(sql, tables)
      yield* sql`INSERT INTO record_batches (id) VALUES (${batchId})`
      yield* sql`DELETE FROM record_batches WHERE seq <= (SELECT MAX(seq) FROM record_batches) - ${keep}`
      return true
    })
  )

/** An SQL failure as a reason: the client's message and, when it has one, the driver's (e.g. "no such table: x"). */
export const describeSqlError = (error: SqlError): string => {
  const cause = error.cause
  const detail = cause instanceof Error ? cause.message : undefined
  return detail === undefined || detail === error.message ? error.message : `${error.message}: ${detail}`
}
