/**
 * The bus's recent events, for a `/v1/events` reader that reconnects: every
 * event published gets the next sequence number (1, 2, ...) and is kept in a
 * ring of at most `capacity` (the oldest dropped beyond), so that a reader
 * coming back after sequence `n` can be given what followed, as long as it is
 * still kept. Appending is O(1) and synchronous: publishing waits on nothing.
 */

/** One kept item and its sequence number. */
export interface Numbered<A> {
  readonly seq: number
  readonly item: A
}

/** What a ring holds after a sequence number: the items, oldest first, and whether none after it was dropped. */
export interface Since<A> {
  readonly items: ReadonlyArray<Numbered<A>>
  readonly complete: boolean
}

/** A bounded ring of numbered items. */
export interface Replay<A> {
  /** Number `item` (one more than the last) and keep it, dropping the oldest beyond the capacity; its number. */
  readonly append: (item: A) => Numbered<A>
  /** The number of the last item appended (0: none yet). */
  readonly latest: () => number
  /**
   * The items kept after `seq`, oldest first; `complete` is false when some
   * after it are no longer kept (`seq` too old) or `seq` was never given.
   */
  readonly since: (seq: number) => Since<A>
}

/** A ring keeping the last `capacity` items (at least one). */
export const make = <A>(capacity: number): Replay<A> => {
  const size = Math.max(1, Math.floor(capacity))
  const ring: Array<Numbered<A>> = []
  let latest = 0
  return {
    append: (item) => {
      const numbered = { seq: ++latest, item }
      ring[(latest - 1) % size] = numbered
      return numbered
    },
    latest: () => latest,
    since: (seq) => {
      const oldest = Math.max(1, latest - size + 1)
      const from = Math.max(oldest, seq + 1)
      const items: Array<Numbered<A>> = []
      for (let s = from; s <= latest; s++) items.push(ring[(s - 1) % size]!)
      return { items, complete: Number.isInteger(seq) && seq >= oldest - 1 && seq <= latest }
    }
  }
}

/** An event id as `/v1/events` writes it: this process's boot id and the event's sequence number. */
export const formatId = (bootId: string, seq: number): string => `${bootId}-${seq}`

/** The sequence number in `id` when it is one of this process's (`bootId`), else undefined (another process's, or not an id). */
export const parseId = (bootId: string, id: string): number | undefined => {
  if (!id.startsWith(`${bootId}-`)) return undefined
  const rest = id.slice(bootId.length + 1)
  return /^\d{1,15}$/.test(rest) ? Number(rest) : undefined
}
