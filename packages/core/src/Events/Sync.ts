/**
 * Events across gateway instances on one database. `Events` is one PubSub
 * per instance; this sync, every `events.syncIntervalMs`, appends the events
 * published here since the last sync to the shared log (`EventLogStore`) and
 * publishes the other instances' new events to the local subscribers, so a
 * `/v1/events` stream or a dashboard behind a load balancer sees the events
 * of every instance (a team's stream keeps its filter: they go through the
 * same PubSub), each named after the instance that published it (its
 * `instance`). Events read from the log are never written back. Only
 * while some instance has a subscriber: each marks itself listening at each
 * sync while it has one (`EventLogStore.listen`), and an instance writes its
 * events only while another instance's mark is fresh (`listenWindowMs`), and
 * reads only while it has a subscriber itself: with nobody watching, a sync
 * is one small read, and no event is written.
 *
 * Nothing on the request path waits: `publish` only pushes to a bounded
 * outbox (`Events/Outbox.ts`; full, it drops its oldest, logged once). A sync
 * runs at start, then one after another, an interval apart. A failed write
 * keeps the outbox for the next sync; a run of failures is logged once;
 * local subscribers are unaffected. Ids skipped by a read (a row that
 * commits late, with a lower id) are asked again for `gapWaitMs`
 * (`Events/Cursor.ts`). A row that does not decode (an event kind of a newer
 * version) is skipped, logged once per kind. Rows older than `retentionMs`
 * are deleted once every `pruneEveryMs`. At stop, what is left is written
 * (best effort, 2 s at most).
 */
import { GatewayEvent } from "@modelgate/domain/Events"
import type { StoreError } from "@modelgate/domain/Errors"
import { Clock, Effect, Either, Layer, Option, Schema, Stream } from "effect"
import { EventLogStore, type EventLogEntry, type EventLogRow } from "../EventLogStore.js"
import { EventRelay } from "../Events.js"
import { GatewayConfig } from "../GatewayConfig.js"
import { InstanceId } from "../InstanceId.js"
import { everyInterval, quietly, undoAtStop } from "../internal/periodicSync.js"
import * as Cursor from "./Cursor.js"

/** How long an id skipped by a read is waited for (a row that commits late). */
export const gapWaitMs = 10_000

/** How many skipped ids are waited for at once. */
export const maxMissing = 500

/** Rows a read asks for at most; a sync reads up to `maxPages` of them. */
export const pageSize = 1_000
const maxPages = 5

/** How long rows are kept in the log (every instance deletes older ones). */
export const retentionMs = 600_000

/** How often each instance deletes the rows past `retentionMs`. */
export const pruneEveryMs = 60_000

/** How long an instance's mark of listening counts: three intervals, and at least 10 s. */
export const listenWindowMs = (intervalMs: number) => Math.max(10_000, 3 * intervalMs)

const EventJson = Schema.parseJson(GatewayEvent)
const encode = Schema.encodeEither(EventJson)
const decodeEvent = Schema.decodeUnknownEither(GatewayEvent)
const kindOf = Schema.decodeUnknownOption(Schema.parseJson(Schema.Struct({ _tag: Schema.String })))

/** A row's event, named after the instance that published it (`instance`); a row that is not JSON fails as the Schema would. */
const decode = (row: EventLogRow) => {
  let json: unknown
  try {
    json = JSON.parse(row.data)
  } catch (error) {
    return Either.left(new Error(`not JSON: ${String(error)}`))
  }
  return typeof json === "object" && json !== null
    ? Either.mapLeft(decodeEvent({ ...json, instance: row.instance }), (e) => new Error(e.message))
    : Either.left(new Error("not a JSON object"))
}

/** The sync of one instance's events with the other instances'. */
export const make = (options: {
  readonly relay: EventRelay["Type"]
  readonly store: EventLogStore["Type"]
  readonly instance: string
  readonly gatewayConfig: GatewayConfig["Type"]
  /** The interval when `events.syncIntervalMs` is unset (none: no sync then). */
  readonly defaultSyncIntervalMs?: number | undefined
}) => {
  const { instance, relay, store } = options
  const cursor = Cursor.make({ waitMs: gapWaitMs, maxMissing })
  const unreadable = new Set<string>()
  let dropping = false
  let prunedAt: number | undefined
  /** The interval in force (for `listenWindowMs`), whether this instance's mark is stored, whether it shares its events. */
  let intervalMs = 0
  let listening = false
  let sharing = false

  /** Append what was published here since the last write (all or none). */
  const write: Effect.Effect<void, StoreError> = Effect.gen(function* () {
    const dropped = yield* relay.dropped
    if (dropped > 0 && !dropping) {
      dropping = true
      yield* Effect.logWarning("events sync: the outbox is full; the oldest events of this instance are not shared", dropped)
    }
    const { items, upTo } = yield* relay.outbox
    if (items.length > 0) {
      const entries: Array<EventLogEntry> = []
      for (const event of items) {
        const data = encode(event)
        if (Either.isRight(data)) entries.push({ at: event.at, data: data.right })
      }
      yield* store.append(instance, entries, yield* Clock.currentTimeMillis)
      yield* relay.written(upTo)
    }
    if (dropped === 0) dropping = false
  })

  /** The events of `rows` that decode; each kind that does not is logged once. */
  const eventsOf = (rows: ReadonlyArray<EventLogRow>): Effect.Effect<Array<GatewayEvent>> => {
    const events: Array<GatewayEvent> = []
    const logs: Array<Effect.Effect<void>> = []
    for (const row of rows) {
      const event = decode(row)
      if (Either.isRight(event)) {
        events.push(event.right)
        continue
      }
      const kind = Option.getOrElse(Option.map(kindOf(row.data), (k) => k._tag), () => "(no kind)")
      if (unreadable.has(kind) || unreadable.size >= 100) continue
      unreadable.add(kind)
      logs.push(Effect.logWarning(`events sync: skipped another instance's event this version cannot read (kind ${kind})`, event.left.message))
    }
    return Effect.as(Effect.all(logs, { discard: true }), events)
  }

  /** Publish the other instances' events after the cursor, and those that committed late. */
  const read: Effect.Effect<void, StoreError> = Effect.gen(function* () {
    const after = cursor.after()
    if (after === undefined) return cursor.start(yield* store.latest)
    for (let page = 0; page < maxPages; page++) {
      const { ids, rows } = yield* store.read(instance, cursor.after()!, cursor.missing(), pageSize)
      cursor.advance(ids, rows.map((r) => r.id), yield* Clock.currentTimeMillis)
      yield* relay.publishOthers(yield* eventsOf(rows))
      if (ids.length < pageSize) break
    }
  })

  /** Delete the rows past `retentionMs`, once every `pruneEveryMs`. */
  const prune: Effect.Effect<void, StoreError> = Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    if (prunedAt !== undefined && now - prunedAt < pruneEveryMs) return
    yield* store.prune(now - retentionMs)
    prunedAt = now
  })

  /**
   * Mark (or unmark) this instance listening, and share its events from now
   * while another instance listens (its outbox dropped and no longer kept
   * while none does).
   */
  const listen: Effect.Effect<void, StoreError> = Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const subscribed = relay.subscribers() > 0
    if (subscribed) yield* store.listen(instance, now)
    else if (listening) yield* store.listen(instance, undefined)
    listening = subscribed
    sharing = (yield* store.listeners(instance, now - listenWindowMs(intervalMs))) > 0
    yield* relay.keep(sharing)
  })

  /**
   * Say whether this instance listens and learn whether another does; write
   * this instance's events while one does, read the others' while this one
   * listens (else it starts again from the newest when it does), prune; a
   * failed write does not stop the read.
   */
  const syncOnce: Effect.Effect<void, StoreError> = Effect.gen(function* () {
    yield* listen
    const wrote = sharing ? yield* Effect.either(write) : Either.right(undefined)
    if (listening) yield* read
    else cursor.reset()
    yield* prune
    if (Either.isLeft(wrote)) return yield* wrote.left
  })

  const intervals = options.gatewayConfig.changes.pipe(
    Stream.map((config) => config.events.syncIntervalMs ?? options.defaultSyncIntervalMs),
    Stream.changes,
    // Events are kept for the others only while a sync runs (and finds a listener); one started again reads from the newest.
    Stream.tap((ms) =>
      Effect.sync(() => {
        if (ms !== undefined) intervalMs = ms
        else cursor.reset()
      }).pipe(Effect.zipRight(ms === undefined ? relay.keep(false) : Effect.void))
    )
  )

  /** Sync at once and then every `events.syncIntervalMs` (else the default; never while both are unset), following reloads. */
  const run: Effect.Effect<void> = everyInterval(
    intervals,
    quietly(syncOnce, {
      failed: "events sync: could not share events with the other instances; this instance's are kept for the next sync",
      recovered: "events sync: events are shared again"
    }),
    { first: true }
  )

  /** At stop: write what is left, and take back this instance's mark of listening (best effort, 2 s at most). */
  const flush = undoAtStop(
    () => sharing || listening,
    Effect.zipRight(Effect.when(write, () => sharing), Effect.when(store.listen(instance, undefined), () => listening)),
    "events sync: could not write this instance's last events"
  )

  return { syncOnce, run, flush }
}

/**
 * The sync, running in the layer's scope: `defaultSyncIntervalMs` when
 * `events.syncIntervalMs` is unset (none: no sync).
 */
export const layerWith = (options: { readonly defaultSyncIntervalMs?: number | undefined } = {}): Layer.Layer<
  never,
  never,
  EventRelay | EventLogStore | GatewayConfig
> =>
  Layer.scopedDiscard(
    Effect.gen(function* () {
      const sync = make({
        relay: yield* EventRelay,
        store: yield* EventLogStore,
        instance: yield* InstanceId,
        gatewayConfig: yield* GatewayConfig,
        defaultSyncIntervalMs: options.defaultSyncIntervalMs
      })
      yield* Effect.addFinalizer(() => sync.flush)
      yield* Effect.forkScoped(sync.run)
    })
  )
