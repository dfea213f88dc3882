/**
 * Where a reader of the event log (`EventLogStore`) is: the highest id it
 * read, and the ids below it that it has not seen yet. Ids come from a
 * sequence, but on PostgreSQL a row can commit after a row with a higher id
 * was read (two instances' transactions): an id skipped by a read is waited
 * for, asked again at each read, for `waitMs` (by the reader's clock), then
 * given up (a transaction rolled back leaves its id unused for good). At
 * most `maxMissing` ids are waited for: beyond, the oldest are given up.
 */

/** A reader's position in the event log. */
export interface Cursor {
  /** The highest id read (undefined: not started). */
  readonly after: () => number | undefined
  /** The ids below `after` not seen yet, oldest first. */
  readonly missing: () => ReadonlyArray<number>
  /** Start after `latest` (the highest id now): what came before is not read. */
  readonly start: (latest: number) => void
  /** Forget the position (a reader stopped): the next start begins at the highest id then. */
  readonly reset: () => void
  /**
   * A read at `now` found `ids` after the cursor (ascending) and, among the
   * missing ids, `found`: the cursor moves to the last id, ids skipped are
   * waited for, and those found or waited for too long are not any more.
   */
  readonly advance: (ids: ReadonlyArray<number>, found: ReadonlyArray<number>, now: number) => void
}

/** A cursor waiting `waitMs` for each id skipped, for at most `maxMissing` ids at once. */
export const make = (options: { readonly waitMs: number; readonly maxMissing: number }): Cursor => {
  let after: number | undefined
  // Insertion order is id order: ids are added ascending, each above the last.
  const missing = new Map<number, number>()
  const wait = (id: number, now: number) => {
    missing.set(id, now)
    if (missing.size > options.maxMissing) missing.delete(missing.keys().next().value!)
  }
  return {
    after: () => after,
    missing: () => [...missing.keys()],
    start: (latest) => {
      after = latest
      missing.clear()
    },
    reset: () => {
      after = undefined
      missing.clear()
    },
    advance: (ids, found, now) => {
      for (const id of found) missing.delete(id)
      if (after !== undefined) {
        let last = after
        for (const id of ids) {
          // Only the newest `maxMissing` skipped ids can be kept: skip the rest of a long run.
          for (let skipped = Math.max(last + 1, id - options.maxMissing); skipped < id; skipped++) wait(skipped, now)
          if (id > last) last = id
        }
        after = last
      }
      for (const [id, since] of missing) {
        if (now - since < options.waitMs) break
        missing.delete(id)
      }
    }
  }
}
