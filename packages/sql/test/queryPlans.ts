/**
 * What the index tests read: the statements an effect runs, as compiled, and
 * SQLite's plan of each (`EXPLAIN QUERY PLAN`).
 */
import { SqlClient, type SqlError, Statement } from "@effect/sql"
import { Effect } from "effect"

/** Run `effect`; the statements it ran, as compiled: each text once, with its last parameters. */
export const statementsOf = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<Map<string, ReadonlyArray<unknown>>, E, R> =>
  Effect.suspend(() => {
    const statements = new Map<string, ReadonlyArray<unknown>>()
    const record: Statement.Statement.Transformer = (statement) =>
      Effect.sync(() => {
        const [text, params] = statement.compile()
        statements.set(text, params)
        return statement
      })
    return Effect.as(Statement.withTransformer(effect, record), statements)
  })

/** SQLite's plan of one statement: the detail of each step. */
export const queryPlan = (text: string, params: ReadonlyArray<unknown>): Effect.Effect<ReadonlyArray<string>, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe<{ detail: string }>(`EXPLAIN QUERY PLAN ${text}`, params)).pipe(
    Effect.map((plan) => plan.map((p) => p.detail))
  )
