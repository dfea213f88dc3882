/**
 * The events an instance published since its last sync with the others
 * (`Events/Sync.ts`), kept by `publish` synchronously (a push: nothing on the
 * request path waits), bounded: beyond `capacity` the oldest is dropped and
 * counted. The sync reads what is pending and, once the store took it,
 * removes up to where it read (`done`): a failed write keeps it for the next.
 */

/** What is pending: the events, oldest first, and the position to give `done` once they are written. */
export interface Pending<A> {
  readonly items: ReadonlyArray<A>
  readonly upTo: number
}

/** A bounded queue that drops its oldest item when full. */
export interface Outbox<A> {
  /** Keep `item` (drops the oldest beyond the capacity). */
  readonly push: (item: A) => void
  /** What is kept, oldest first. */
  readonly pending: () => Pending<A>
  /** Remove what `pending` gave up to `upTo` (what was dropped since is already gone). */
  readonly done: (upTo: number) => void
  /** How many were dropped since the last call, and reset the count. */
  readonly takeDropped: () => number
  /** Drop everything kept (not counted as dropped). */
  readonly clear: () => void
}

/** An outbox of at most `capacity` items. */
export const make = <A>(capacity: number): Outbox<A> => {
  let items: Array<A> = []
  // items[head..] are kept; `first` is the position of items[head] among every item ever pushed.
  let head = 0
  let first = 0
  let dropped = 0
  const size = () => items.length - head
  const compact = () => {
    if (head === items.length) {
      items = []
      head = 0
    } else if (head > capacity) {
      items = items.slice(head)
      head = 0
    }
  }
  const remove = (n: number) => {
    head += n
    first += n
    compact()
  }
  return {
    push: (item) => {
      items.push(item)
      if (size() > capacity) {
        remove(1)
        dropped++
      }
    },
    pending: () => ({ items: items.slice(head), upTo: first + size() }),
    done: (upTo) => remove(Math.min(size(), Math.max(0, upTo - first))),
    takeDropped: () => {
      const n = dropped
      dropped = 0
      return n
    },
    clear: () => remove(size())
  }
}
