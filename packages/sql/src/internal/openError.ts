/**
 * Why `Sqlite.layer` could not open or migrate its database, as a `StoreError`
 * naming the file: what `modelgate serve` prints instead of a stack trace.
 */
import { StoreError } from "@modelgate/domain/Errors"
import { Cause, FiberId } from "effect"
import * as path from "node:path"

/** The message of a failure or defect, with the cause of an `SqlError` / `MigrationError` when it adds something. */
const describe = (u: unknown): string => {
  if (!(u instanceof Error)) return String(u)
  const cause = (u as { readonly cause?: unknown }).cause
  const detail = cause instanceof Error ? cause.message : undefined
  return detail === undefined || detail === u.message ? u.message : `${u.message}: ${detail}`
}

/** A file by its absolute path; `:memory:`, `""` and `file:` URIs as given. */
const named = (filename: string): string =>
  filename === "" || filename === ":memory:" || filename.startsWith("file:") ? filename : path.resolve(filename)

/** The `StoreError` of a database that could not be opened or migrated: its absolute path and the reason. */
export const openError = (filename: string, cause: Cause.Cause<unknown>): StoreError =>
  new StoreError({
    operation: "database.open",
    reason: `${named(filename)} (database.filename, MODELGATE_DB): ${describe(Cause.squash(cause))}`
  })

/** The cause `Sqlite.layer` fails with: an interruption stays one; anything else is its `openError`. */
export const openFailure = (filename: string, cause: Cause.Cause<unknown>): Cause.Cause<StoreError> =>
  Cause.isInterruptedOnly(cause)
    ? Cause.interrupt(FiberId.combineAll(Cause.interruptors(cause)))
    : Cause.fail(openError(filename, cause))
