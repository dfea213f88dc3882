/**
 * Why a database layer (`Sqlite.layer`, `Postgres.layer`) could not open or
 * migrate its database, as a `StoreError` naming the database: what
 * `modelgate serve` prints instead of a stack trace. URL credentials are
 * stripped from the reason.
 */
import { StoreError, withoutUrlCredentials } from "@modelgate/domain/Errors"
import { Cause, FiberId } from "effect"
import * as path from "node:path"

/** The message of a failure or defect, with the cause of an `SqlError` / `MigrationError` when it adds something. */
const describe = (u: unknown): string => {
  if (!(u instanceof Error)) return withoutUrlCredentials(String(u))
  const cause = (u as { readonly cause?: unknown }).cause
  const detail = cause instanceof Error ? cause.message : undefined
  return withoutUrlCredentials(detail === undefined || detail === u.message ? u.message : `${u.message}: ${detail}`)
}

/** A file by its absolute path; `:memory:`, `""` and `file:` URIs as given. */
const named = (filename: string): string =>
  filename === "" || filename === ":memory:" || filename.startsWith("file:") ? filename : path.resolve(filename)

/** How a SQLite file is named in an open error: its absolute path and the settings that choose it. */
export const sqliteFile = (filename: string): string => `${named(filename)} (database.filename, MODELGATE_DB)`

/** The `StoreError` of a database that could not be opened or migrated: `database` (as named by the caller) and the reason. */
export const openError = (database: string, cause: Cause.Cause<unknown>): StoreError =>
  new StoreError({ operation: "database.open", reason: `${database}: ${describe(Cause.squash(cause))}` })

/** The cause a database layer fails with: an interruption stays one; anything else is its `openError`. */
export const openFailure = (database: string, cause: Cause.Cause<unknown>): Cause.Cause<StoreError> =>
  Cause.isInterruptedOnly(cause)
    ? Cause.interrupt(FiberId.combineAll(Cause.interruptors(cause)))
    : Cause.fail(openError(database, cause))
