/**
 * The settings a reload cannot apply: `server.*` (the listener), `database.*`
 * and `records.*` (the store and its writer), read once at start. A reload
 * that changes one is applied for the rest, and the gateway says which of
 * these wait for a restart rather than leave the user wondering why the old
 * port still answers. One that something besides the files sets at start
 * (`serve --port`, a `PORT` the files cannot beat, `MODELGATE_DATABASE_URL`)
 * is named with what sets it instead: a restart would not apply it either.
 */
import { isPlainObject } from "./Merge.js"

/** The top-level sections read at start only. */
export const startOnlySections: ReadonlyArray<string> = ["server", "database", "records"]

/** The leaf paths (`a.b.c`; an array is one leaf) where `a` and `b` differ, in `a`'s key order then `b`'s. */
const differences = (a: unknown, b: unknown, path: string): Array<string> => {
  if (!isPlainObject(a) || !isPlainObject(b)) return JSON.stringify(a) === JSON.stringify(b) ? [] : [path]
  const keys = [...Object.keys(a), ...Object.keys(b).filter((k) => !Object.hasOwn(a, k))]
  return keys.flatMap((k) => differences(a[k], b[k], `${path}.${k}`))
}

/**
 * The start-only settings (`server.port`, `records.batchSize`, ...) whose value in
 * `next` differs from `running`'s, both encoded configurations (plain JSON).
 */
export const startOnlyChanges = (running: unknown, next: unknown): ReadonlyArray<string> => {
  const from = isPlainObject(running) ? running : {}
  const to = isPlainObject(next) ? next : {}
  return startOnlySections.flatMap((section) => differences(from[section], to[section], section))
}

/** The warning for `fields` (non-empty): named, and what to do. */
export const startOnlyWarning = (fields: ReadonlyArray<string>): string =>
  `read at start only, not applied by this reload (restart the gateway to change them): ${fields.join(", ")}`

/** A start-only setting that something besides the files sets at start (a flag, a variable), and what sets it. */
export interface StartOverride {
  /** The setting, e.g. `server.port` (a section covers every setting under it). */
  readonly field: string
  /** What sets it, as the user wrote it: `--port`, `MODELGATE_DATABASE_URL`. */
  readonly by: string
}

/**
 * The warnings for `fields` (non-empty): those `overrides` cover, named with
 * what sets them (neither this reload nor a restart applies them), and the
 * others (restart to change them); one line each kind.
 */
export const startOnlyWarnings = (fields: ReadonlyArray<string>, overrides: ReadonlyArray<StartOverride> = []): Array<string> => {
  const by = (field: string) => overrides.find((o) => field === o.field || field.startsWith(`${o.field}.`))?.by
  const overridden = fields.flatMap((field) => {
    const setter = by(field)
    return setter === undefined ? [] : [`${field} (set by ${setter})`]
  })
  const rest = fields.filter((field) => by(field) === undefined)
  return [
    ...(rest.length > 0 ? [startOnlyWarning(rest)] : []),
    ...(overridden.length > 0
      ? [`changed in the files but set at start by a flag or variable, so neither this reload nor a restart applies them: ${overridden.join(", ")}`]
      : [])
  ]
}
