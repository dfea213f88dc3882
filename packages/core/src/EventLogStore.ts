/**
 * EventLogStore: the events of every gateway instance on one database, so
 * that a subscriber of any instance (`/v1/events`, a dashboard behind a load
 * balancer) sees them all, not only those of the instance it reached. The
 * events' sync (`Events/Sync.ts`) appends this instance's events and reads
 * the others' every `events.syncIntervalMs`. Each row holds one event
 * encoded by its Schema (JSON text; events hold no secret: a `keyId` names a
 * key's position, `openai#1`, never the key). A memory version lives here
 * (tests, one process); the SQL version is `@modelgate/sql/EventLogStoreSql`.
 *
 * Ids come from a sequence: increasing, but on PostgreSQL two instances'
 * rows can commit in another order than their ids (a lower id visible after
 * a higher one was read). A reader keeps the ids it has not seen below its
 * cursor for a while and asks for them again (`missing`).
 */
import type { StoreError } from "@modelgate/domain/Errors"
import { Context, Effect, Layer } from "effect"

/** One event as an instance appends it: its time (epoch ms) and the event encoded (JSON text). */
export interface EventLogEntry {
  readonly at: number
  readonly data: string
}

/** One event of another instance, as read back: its id, the instance that wrote it, its time and the encoded event. */
export interface EventLogRow extends EventLogEntry {
  readonly id: number
  readonly instance: string
}

/** What one read finds. */
export interface EventLogPage {
  /** Every id after the cursor, this instance's own rows' included, ascending (at most `limit`): what lies between them is not committed yet. */
  readonly ids: ReadonlyArray<number>
  /** The OTHER instances' rows among those ids and among `missing`, by id. */
  readonly rows: ReadonlyArray<EventLogRow>
}

/** Events shared between instances. */
export class EventLogStore extends Context.Tag("@modelgate/core/EventLogStore")<
  EventLogStore,
  {
    /** Append `instance`'s events, written at `writtenAt` (epoch ms), in one go: all or none. */
    readonly append: (instance: string, events: ReadonlyArray<EventLogEntry>, writtenAt: number) => Effect.Effect<void, StoreError>
    /** The highest id stored (0: none): where a reader that just started begins. */
    readonly latest: Effect.Effect<number, StoreError>
    /**
     * The ids after `after` (at most `limit`, lowest first), with the other
     * instances' rows among them, and the other instances' rows among the
     * `missing` ids (ids below `after` the reader has not seen yet).
     */
    readonly read: (
      instance: string,
      after: number,
      missing: ReadonlyArray<number>,
      limit: number
    ) => Effect.Effect<EventLogPage, StoreError>
    /** Delete every row written before `before` (epoch ms), whoever wrote it. */
    readonly prune: (before: number) => Effect.Effect<void, StoreError>
    /**
     * Mark `instance` as having subscribers at `at` (epoch ms), or (`at`
     * undefined) no longer: the others write their events only while some
     * instance listens (`listeners`).
     */
    readonly listen: (instance: string, at: number | undefined) => Effect.Effect<void, StoreError>
    /** How many instances other than `instance` marked themselves listening at or after `since` (epoch ms). */
    readonly listeners: (instance: string, since: number) => Effect.Effect<number, StoreError>
  }
>() {}

/** The memory store, and what a test needs to commit a row late. */
export interface MemoryEventLog {
  readonly store: EventLogStore["Type"]
  /** Take the next id now, as a transaction that has not committed yet. */
  readonly reserve: () => number
  /** Commit a row with an id `reserve` gave (a late commit: after higher ids were read). */
  readonly commit: (id: number, instance: string, entry: EventLogEntry, writtenAt: number) => void
}

/** An in-process store (one process, several instances: tests), with hooks for late commits. */
export const makeMemoryLog: Effect.Effect<MemoryEventLog> = Effect.sync(() => {
  const rows = new Map<number, EventLogRow & { readonly writtenAt: number }>()
  const listening = new Map<string, number>()
  let nextId = 1
  const reserve = () => nextId++
  const commit = (id: number, instance: string, entry: EventLogEntry, writtenAt: number) =>
    void rows.set(id, { id, instance, at: entry.at, data: entry.data, writtenAt })
  const row = ({ writtenAt: _, ...r }: EventLogRow & { readonly writtenAt: number }): EventLogRow => r
  const store = EventLogStore.of({
    append: (instance, events, writtenAt) => Effect.sync(() => events.forEach((e) => commit(reserve(), instance, e, writtenAt))),
    latest: Effect.sync(() => {
      let max = 0
      for (const id of rows.keys()) if (id > max) max = id
      return max
    }),
    read: (instance, after, missing, limit) =>
      Effect.sync(() => {
        const newer = [...rows.values()].filter((r) => r.id > after).sort((x, y) => x.id - y.id).slice(0, limit)
        const late = missing.flatMap((id) => {
          const r = rows.get(id)
          return r === undefined ? [] : [r]
        })
        const others = [...late, ...newer].filter((r) => r.instance !== instance).sort((x, y) => x.id - y.id).map(row)
        return { ids: newer.map((r) => r.id), rows: others }
      }),
    prune: (before) =>
      Effect.sync(() => {
        for (const [id, r] of rows) if (r.writtenAt < before) rows.delete(id)
      }),
    listen: (instance, at) => Effect.sync(() => void (at === undefined ? listening.delete(instance) : listening.set(instance, at))),
    listeners: (instance, since) =>
      Effect.sync(() => {
        let n = 0
        for (const [other, at] of listening) if (other !== instance && at >= since) n++
        return n
      })
  })
  return { store, reserve, commit }
})

/** An in-process store. */
export const makeMemory: Effect.Effect<EventLogStore["Type"]> = Effect.map(makeMemoryLog, (log) => log.store)

/** The in-memory store: instances in one process that provide the same layer build share it. */
export const layerMemory: Layer.Layer<EventLogStore> = Layer.effect(EventLogStore, makeMemory)
