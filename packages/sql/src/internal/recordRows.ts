/**
 * Record rows as they go into SQL, and the insert paths of the record
 * writers: one transaction per batch on both. On this thread (any SQL
 * database) one multi-row `sql.insert` per table chunk; on the worker thread
 * (SQLite) the columns and flat values that crossed go straight into a few
 * prepared multi-row INSERTs of constant text (`insertColumns`).
 * Imports nothing from modelgate, so the worker thread loads only this.
 */
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { StoreError } from "@modelgate/domain/Errors"
import { Array as Arr, Cause, Effect, Exit, Option, Schema, Scope } from "effect"

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

const CHUNK = 50

/** Insert every table's rows, `CHUNK` rows per statement (in the caller's transaction, if any). */
const insertRows = (sql: SqlClient.SqlClient, tables: ReadonlyArray<TableRows>): Effect.Effect<void, SqlError> =>
  Effect.forEach(
    tables.flatMap(({ rows, table }) =>
      Array.from({ length: Math.ceil(rows.length / CHUNK) }, (_, i) => [table, rows.slice(i * CHUNK, (i + 1) * CHUNK)] as const)
    ),
    ([table, rows]) => sql`INSERT INTO ${sql(table)} ${sql.insert(rows)}`,
    { discard: true }
  )

/** Insert every table's rows in one transaction, `CHUNK` rows per statement. */
export const insertTables = (sql: SqlClient.SqlClient, tables: ReadonlyArray<TableRows>): Effect.Effect<void, SqlError> =>
  tables.length === 0 ? Effect.void : transaction(sql, insertRows(sql, tables))

/**
 * `insertTables` for a batch with an id (stable across its retries), on any
 * SQL database: the transaction also records the id in `record_batches`, and
 * a batch whose id is there already was committed before (its writer did not
 * hear back: a connection lost after COMMIT): nothing is written, and the
 * answer is `false`. Pruned as `insertColumns` prunes. Portable SQL (SQLite
 * 3.35+ and PostgreSQL): `ON CONFLICT DO NOTHING RETURNING`.
 */
export const insertTablesOnce = (
  sql: SqlClient.SqlClient,
  tables: ReadonlyArray<TableRows>,
  batchId: string,
  keep: number = keepBatchIds
): Effect.Effect<boolean, SqlError> =>
  transaction(
    sql,
    Effect.flatMap(
      sql<{ readonly seq: number | string }>`INSERT INTO record_batches (id) VALUES (${batchId}) ON CONFLICT (id) DO NOTHING RETURNING seq`,
      (added) => {
        const row = added[0]
        if (row === undefined) return Effect.succeed(false)
        const seq = Number(row.seq)
        const prune = seq % Math.max(1, Math.ceil(keep / 10)) === 0 ? Effect.asVoid(sql`DELETE FROM record_batches WHERE seq <= ${seq - keep}`) : Effect.void
        return insertRows(sql, tables).pipe(Effect.zipRight(prune), Effect.as(true))
      }
    )
  )

/** How many committed batch ids `record_batches` keeps at least (the newest; `insertColumns` prunes every tenth of it). */
export const keepBatchIds = 1_000

/** Rows per INSERT statement of `insertColumns`: powers of two up to this (rows x columns stays far under SQLite's 32766 parameters). */
export const maxRowsPerInsert = 128

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`

/** `INSERT INTO "table" ("a", "b") VALUES (?, ?), ...` for `rows` rows, built once per table, column list and row count. */
const insertTexts = new Map<string, string>()
const insertText = (head: string, placeholders: string, rows: number) => {
  const key = `${rows}${head}`
  let text = insertTexts.get(key)
  if (text === undefined) {
    text = head + Array.from({ length: rows }, () => placeholders).join(",")
    insertTexts.set(key, text)
  }
  return text
}

/**
 * The statements that insert every table's columns: each table's rows in
 * chunks whose sizes are powers of two (the binary digits of its row count,
 * largest first, at most `maxRowsPerInsert`), so the statement texts are few
 * and constant: SQLite compiles each once (the client's prepare cache) and
 * nothing is compiled per batch or per row. Values go in as they crossed.
 */
export const insertStatements = (
  tables: ReadonlyArray<TableColumns>
): ReadonlyArray<readonly [sql: string, params: ReadonlyArray<Value>]> => {
  const statements: Array<readonly [string, ReadonlyArray<Value>]> = []
  for (const { columns, table, values } of tables) {
    const width = columns.length
    if (width === 0 || values.length === 0) continue
    const head = `INSERT INTO ${quote(table)} (${columns.map(quote).join(",")}) VALUES `
    const placeholders = `(${columns.map(() => "?").join(",")})`
    let offset = 0
    let left = values.length / width
    while (left > 0) {
      let rows = maxRowsPerInsert
      while (rows > left) rows >>= 1
      statements.push([insertText(head, placeholders, rows), values.slice(offset, offset + rows * width)])
      offset += rows * width
      left -= rows
    }
  }
  return statements
}

const addBatchSql = "INSERT OR IGNORE INTO record_batches (id) VALUES (?)"
const pruneSql = "DELETE FROM record_batches WHERE seq <= (SELECT MAX(seq) FROM record_batches) - ?"

/** What better-sqlite3 answers for a write (`executeRaw` on the SQLite client). */
const runResult = (result: unknown): { readonly changes: number; readonly seq: number | undefined } | undefined => {
  if (typeof result !== "object" || result === null || !("changes" in result) || typeof result.changes !== "number") return undefined
  const seq = "lastInsertRowid" in result && typeof result.lastInsertRowid === "number" ? result.lastInsertRowid : undefined
  return { changes: result.changes, seq }
}

/**
 * The worker thread's write of a batch (SQLite), in one transaction. With a
 * `batchId` (stable across retries of the batch), the transaction also
 * records the id in `record_batches`; a batch whose id is there already was
 * committed before (its writer did not hear back, e.g. the thread died after
 * COMMIT): nothing is written, and the answer is `false`. The table keeps the
 * newest `keep` ids: it is pruned in the same transaction on every
 * `ceil(keep / 10)`-th id (so it holds up to a tenth more in between), which
 * saves a DELETE and its page writes on the other batches.
 *
 * Cheaper than `insertTables` for speed: inside the transaction every
 * statement runs on its connection directly, with constant text prepared once
 * (`insertStatements`), not as an `sql` template (no compile, span or scope
 * per statement), on the flat values as they crossed (no row objects); the id
 * is checked and recorded by one INSERT OR IGNORE (no SELECT first).
 */
export const insertColumns = (
  sql: SqlClient.SqlClient,
  tables: ReadonlyArray<TableColumns>,
  batchId?: string | undefined,
  keep: number = keepBatchIds
): Effect.Effect<boolean, SqlError> =>
  transaction(
    sql,
    // `withTransaction` provides its connection; `serviceOption` keeps this effect's requirements at never.
    Effect.flatMap(Effect.serviceOption(SqlClient.TransactionConnection), (transaction) => {
      if (transaction._tag === "None") return Effect.dieMessage("insertColumns: no transaction connection")
      const [conn] = transaction.value
      const insert = Effect.forEach(insertStatements(tables), ([text, params]) => conn.execute(text, params, undefined), {
        discard: true
      })
      if (batchId === undefined) return Effect.as(insert, true)
      return Effect.flatMap(conn.executeRaw(addBatchSql, [batchId]), (raw) => {
        const added = runResult(raw)
        if (added === undefined) return Effect.dieMessage(`insertColumns: not a SQLite run result: ${String(raw)}`)
        if (added.changes === 0) return Effect.succeed(false)
        const pruneEvery = Math.max(1, Math.ceil(keep / 10))
        const prune = added.seq === undefined || added.seq % pruneEvery === 0 ? conn.execute(pruneSql, [keep], undefined) : Effect.void
        return insert.pipe(Effect.zipRight(prune), Effect.as(true))
      })
    })
  )

/**
 * An SQL failure as a reason: the client's message and, when it has one, the
 * driver's (e.g. "no such table: x", PostgreSQL's `relation "x" does not
 * exist`). Any error with a `cause` reads the same way (a decoding failure
 * has none: its message is the reason).
 */
export const describeSqlError = (error: { readonly message: string; readonly cause?: unknown }): string => {
  const cause = error.cause
  const detail = cause instanceof Error ? cause.message : undefined
  return detail === undefined || detail === error.message ? error.message : `${error.message}: ${detail}`
}

/** A store's errors: a failure of `<table>.<operation>` as a `StoreError` naming it, with the database's reason. */
export const storeErrorOf =
  (table: string) => (operation: string) => (error: { readonly message: string; readonly cause?: unknown }): StoreError =>
    new StoreError({ operation: `${table}.${operation}`, reason: describeSqlError(error) })

/**
 * Write `rows` in statements of at most `size` rows (`write` of each chunk):
 * one statement alone, several in one transaction. Nothing for no rows.
 */
export const writeChunked = <Row, E, R>(
  sql: SqlClient.SqlClient,
  rows: ReadonlyArray<Row>,
  size: number,
  write: (chunk: ReadonlyArray<Row>) => Effect.Effect<unknown, E, R>
): Effect.Effect<void, E | SqlError, R> => {
  const chunks = Arr.chunksOf(rows, size)
  const writes = Effect.forEach(chunks, write, { discard: true })
  return chunks.length <= 1 ? writes : transaction(sql, writes)
}

const isSqlError = (u: unknown): u is SqlError =>
  typeof u === "object" && u !== null && "_tag" in u && (u as { readonly _tag: unknown })._tag === "SqlError"

/**
 * `sql.withTransaction`, except that a failed COMMIT is followed by a
 * ROLLBACK on the same connection before it is released. SQLite keeps a
 * transaction open when its COMMIT fails with SQLITE_BUSY (rollback-journal
 * mode, a reader of the file; never under WAL, where the first write takes the
 * lock), and @effect/sql rolls back only when the effect failed: the
 * connection stayed in the transaction, the file locked for other processes,
 * its later writes acknowledged but never committed, its next BEGIN failing.
 * A ROLLBACK after a COMMIT that SQLite rolled back itself (SQLITE_FULL)
 * fails, "no transaction is active": ignored. Statements as @effect/sql's
 * defaults (SQLite, PostgreSQL); nested, a savepoint.
 */
const withTransaction = (sql: SqlClient.SqlClient) =>
  SqlClient.makeWithTransaction({
    transactionTag: SqlClient.TransactionConnection,
    spanAttributes: [],
    acquireConnection: Effect.flatMap(Scope.make(), (scope) =>
      Scope.extend(sql.reserve, scope).pipe(
        Effect.map((conn) => [scope, conn] as const),
        Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause)))
      )
    ),
    begin: (conn) => Effect.asVoid(conn.executeUnprepared("BEGIN", [], undefined)),
    savepoint: (conn, id) => Effect.asVoid(conn.executeUnprepared(`SAVEPOINT effect_sql_${id}`, [], undefined)),
    commit: (conn) =>
      conn.executeUnprepared("COMMIT", [], undefined).pipe(
        Effect.tapError(() => Effect.ignore(conn.executeUnprepared("ROLLBACK", [], undefined))),
        Effect.asVoid
      ),
    rollback: (conn) => Effect.asVoid(conn.executeUnprepared("ROLLBACK", [], undefined)),
    rollbackSavepoint: (conn, id) => Effect.asVoid(conn.executeUnprepared(`ROLLBACK TO SAVEPOINT effect_sql_${id}`, [], undefined))
  })

/**
 * `effect` in a transaction on `sql` (`withTransaction` above: a failed
 * COMMIT is rolled back), whose SQL errors are failures. @effect/sql
 * makes a failed COMMIT, and a failed ROLLBACK, a defect that replaces the
 * transaction's own error; SQLite rolls a transaction back by itself on
 * SQLITE_FULL (disk full), SQLITE_IOERR and others, so the ROLLBACK that
 * follows fails ("no transaction is active"): the write died instead of
 * failing, with the reason lost, and a writer that retries failures stopped.
 * The transaction's own error wins when there is one, else the COMMIT's or
 * ROLLBACK's; any other defect stays a defect.
 */
export const transaction = <A, E, R>(sql: SqlClient.SqlClient, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | SqlError, R> =>
  Effect.suspend(() => {
    let own: Option.Option<E> = Option.none()
    return withTransaction(sql)(Effect.tapError(effect, (error) => Effect.sync(() => void (own = Option.some(error))))).pipe(
      Effect.catchAllCause((cause): Effect.Effect<never, E | SqlError> => {
        const failure = Cause.failureOption(cause)
        if (Option.isSome(failure)) return Effect.fail(failure.value)
        if (Option.isSome(own)) return Effect.fail(own.value)
        const defect = Cause.dieOption(cause)
        return Option.isSome(defect) && isSqlError(defect.value) ? Effect.fail(defect.value) : Effect.failCause(cause)
      })
    )
  })
