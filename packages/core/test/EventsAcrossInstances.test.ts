/**
 * Events across gateway instances on one database: an event published on
 * one instance reaches the subscribers of the others at their next sync
 * (`events.syncIntervalMs`), once, and is never written back by them; a row
 * that commits late, with an id below one already read, still arrives; a
 * row this version cannot decode is skipped and logged, the sync goes on;
 * while the store fails, the instance's events wait in its outbox. Events
 * are written only while another instance has a subscriber (each says so at
 * its syncs): with nobody watching, nothing is written.
 */
import { assert, describe, it } from "@effect/vitest"
import { StoreError } from "@modelgate/domain/Errors"
import { GatewayEvent, ModelSelected, WindowReset } from "@modelgate/domain/Events"
import { Clock, Context, Effect, Fiber, Layer, Logger, Ref, Schema, Stream, TestClock } from "effect"
import { EventLogStore, type MemoryEventLog, makeMemoryLog } from "../src/EventLogStore.js"
import { EventRelay, Events } from "../src/Events.js"
import * as Events_ from "../src/Events.js"
import * as EventsSync from "../src/Events/Sync.js"
import * as GatewayConfig from "../src/GatewayConfig.js"
import { InstanceId } from "../src/InstanceId.js"

const SECOND = 1_000

/** An event as a row holds it. */
const encode = Schema.encodeSync(Schema.parseJson(GatewayEvent))

const selected = (requestId: string, at = 0) =>
  new ModelSelected({ at, requestId, agentType: "search", model: "gpt-4o", score: 0.9, reason: "best" })

/**
 * One instance `id` on `store`, syncing every second (`every`: none, no sync),
 * with a subscriber that keeps what it sees (`subscribed: false`: none; `unsubscribe` stops it).
 */
const instance = (id: string, store: EventLogStore["Type"], every: number | null = SECOND, subscribed = true) =>
  Effect.gen(function* () {
    const context = yield* Layer.build(
      EventsSync.layerWith({ defaultSyncIntervalMs: every ?? undefined }).pipe(
        Layer.provideMerge(
          Layer.mergeAll(Events_.layer, GatewayConfig.layerStatic(), Layer.succeed(EventLogStore, store), Layer.succeed(InstanceId, id))
        )
      )
    )
    const events = Context.get(context, Events)
    const seen = yield* Ref.make<ReadonlyArray<GatewayEvent>>([])
    const subscriber = subscribed ? yield* Effect.forkScoped(Stream.runForEach(events.subscribe, (e) => Ref.update(seen, (all) => [...all, e]))) : undefined
    for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
    const ids = Effect.map(Ref.get(seen), (all) => all.map((e) => ("requestId" in e ? e.requestId : e._tag)))
    const unsubscribe = subscriber === undefined ? Effect.void : Fiber.interrupt(subscriber)
    return { events, relay: Context.get(context, EventRelay), seen: Ref.get(seen), ids, unsubscribe }
  })

/** Two syncs of every instance: each has said it listens, and learnt who else does. */
const acquainted = TestClock.adjust(2 * SECOND)

/** Every row of the log, as `instance:requestId`. */
const rowsOf = (log: MemoryEventLog) =>
  Effect.map(log.store.read("nobody", 0, [], 10_000), ({ rows }) =>
    rows.map((r) => `${r.instance}:${(JSON.parse(r.data) as { requestId?: string }).requestId}`))

/** What is logged while `logger` is provided, as text. */
const captureLogs = () => {
  const logs: Array<string> = []
  const capture = Logger.make(({ message }) => void logs.push(Array.isArray(message) ? message.join(" ") : String(message)))
  return { logs, logger: Logger.replace(Logger.defaultLogger, capture) }
}

/** Instances `a` and `b` on one log, A's appends refused while `failing` holds (at first: its database down), A's logs kept. */
const refusedOnA = Effect.gen(function* () {
  const { logs, logger } = captureLogs()
  const log = yield* makeMemoryLog
  const failing = yield* Ref.make(true)
  const refusing = EventLogStore.of({
    ...log.store,
    append: (instance, events, at) =>
      Effect.flatMap(Ref.get(failing), (down) =>
        down ? Effect.fail(new StoreError({ operation: "event_log.append", reason: "connection refused" })) : log.store.append(instance, events, at))
  })
  const a = yield* instance("a", refusing).pipe(Effect.provide(logger))
  const b = yield* instance("b", log.store)
  yield* acquainted
  return { a, b, failing, logs }
})

describe("Events across instances", () => {
  it.scoped("an event published on A reaches B's subscribers at B's next sync, once; B's own are not echoed back, nor written again by A", () =>
    Effect.gen(function* () {
      const log = yield* makeMemoryLog
      const a = yield* instance("a", log.store)
      const b = yield* instance("b", log.store)
      yield* acquainted
      yield* a.events.publish(selected("from-a", 5))
      assert.deepStrictEqual(yield* b.ids, [], "not before a sync")
      yield* TestClock.adjust(2 * SECOND)
      assert.deepStrictEqual(yield* b.seen, [new ModelSelected({ ...selected("from-a", 5), instance: "a" })], "decoded as published, once, named after A")
      assert.deepStrictEqual(yield* a.ids, ["from-a"], "A's subscriber saw it once, locally")

      yield* b.events.publish(selected("from-b"))
      yield* TestClock.adjust(5 * SECOND)
      assert.deepStrictEqual(yield* b.ids, ["from-a", "from-b"])
      assert.deepStrictEqual(yield* a.ids, ["from-a", "from-b"])
      assert.deepStrictEqual(yield* rowsOf(log), ["a:from-a", "b:from-b"], "each event is in the log once, by the instance that published it")
    }))

  it.scoped("an instance that starts listening reads from the newest row: the events written before are not replayed", () =>
    Effect.gen(function* () {
      const log = yield* makeMemoryLog
      yield* log.store.append("c", [{ at: 1, data: encode(selected("early")) }], 1)
      const b = yield* instance("b", log.store)
      yield* TestClock.adjust(SECOND)
      yield* log.store.append("c", [{ at: 2, data: encode(selected("later")) }], 2)
      yield* TestClock.adjust(SECOND)
      assert.deepStrictEqual(yield* b.ids, ["later"])
    }))

  it.scoped("with no subscriber on any other instance nothing is written; once one subscribes, the events flow, and stop when it leaves", () =>
    Effect.gen(function* () {
      const log = yield* makeMemoryLog
      const a = yield* instance("a", log.store)
      const b = yield* instance("b", log.store, SECOND, false)
      yield* acquainted
      yield* a.events.publish(selected("unwatched"))
      yield* TestClock.adjust(3 * SECOND)
      assert.deepStrictEqual(yield* rowsOf(log), [], "nobody else listens: nothing written")
      assert.deepStrictEqual(yield* a.ids, ["unwatched"], "A's own subscriber saw it")

      const c = yield* instance("c", log.store)
      yield* acquainted
      yield* a.events.publish(selected("watched"))
      yield* TestClock.adjust(2 * SECOND)
      assert.deepStrictEqual(yield* c.ids, ["watched"])
      assert.deepStrictEqual(yield* b.ids, [], "B has no subscriber")

      yield* c.unsubscribe
      yield* acquainted
      yield* a.events.publish(selected("after"))
      yield* TestClock.adjust(2 * SECOND)
      assert.deepStrictEqual(yield* rowsOf(log), ["a:watched"], "C took back its mark: A stopped writing")
    }))

  it.scoped("a row that commits after a higher id was read is not lost, and arrives once", () =>
    Effect.gen(function* () {
      const log = yield* makeMemoryLog
      const b = yield* instance("b", log.store)
      yield* TestClock.adjust(SECOND)
      // C takes an id and commits after D's row, with the next id, was read by B.
      const late = log.reserve()
      yield* log.store.append("d", [{ at: 1, data: encode(selected("d-1")) }], 1)
      yield* TestClock.adjust(SECOND)
      assert.deepStrictEqual(yield* b.ids, ["d-1"])
      log.commit(late, "c", { at: 1, data: encode(selected("c-late")) }, 1)
      yield* TestClock.adjust(SECOND)
      assert.deepStrictEqual(yield* b.ids, ["d-1", "c-late"])
      yield* TestClock.adjust(3 * SECOND)
      assert.deepStrictEqual(yield* b.ids, ["d-1", "c-late"], "once")
    }))

  it.scoped("an id never committed is given up after a while: the reads stop asking for it", () =>
    Effect.gen(function* () {
      const log = yield* makeMemoryLog
      const asked = yield* Ref.make<ReadonlyArray<ReadonlyArray<number>>>([])
      const store = EventLogStore.of({
        ...log.store,
        read: (instance, after, missing, limit) =>
          Effect.zipRight(Ref.update(asked, (all) => [...all, missing]), log.store.read(instance, after, missing, limit))
      })
      const b = yield* instance("b", store)
      yield* TestClock.adjust(SECOND)
      const rolledBack = log.reserve()
      yield* log.store.append("d", [{ at: 1, data: encode(selected("d-1")) }], 1)
      yield* TestClock.adjust(SECOND)
      yield* TestClock.adjust(SECOND)
      assert.deepStrictEqual((yield* Ref.get(asked)).at(-1), [rolledBack])
      yield* TestClock.adjust(EventsSync.gapWaitMs + SECOND)
      assert.deepStrictEqual((yield* Ref.get(asked)).at(-1), [])
      assert.deepStrictEqual(yield* b.ids, ["d-1"])
    }))

  it.scoped("a row this version cannot decode is skipped with one log line per kind; the others arrive, the sync goes on", () =>
    Effect.gen(function* () {
      const { logs, logger } = captureLogs()
      const log = yield* makeMemoryLog
      const b = yield* instance("b", log.store).pipe(Effect.provide(logger))
      yield* TestClock.adjust(SECOND)
      const future = JSON.stringify({ _tag: "FromTheFuture", at: 1 })
      yield* log.store.append("c", [
        { at: 1, data: future },
        { at: 1, data: encode(selected("c-1")) },
        { at: 1, data: future },
        { at: 1, data: "not json" }
      ], 1)
      yield* TestClock.adjust(SECOND)
      yield* log.store.append("c", [{ at: 2, data: future }, { at: 2, data: encode(selected("c-2")) }], 2)
      yield* TestClock.adjust(SECOND)
      assert.deepStrictEqual(yield* b.ids, ["c-1", "c-2"])
      const skipped = logs.filter((l) => l.includes("cannot read"))
      assert.strictEqual(skipped.length, 2, skipped.join("\n"))
      assert.include(skipped[0], "FromTheFuture")
      assert.notInclude(logs.join("\n"), "could not share", "the sync did not fail")
    }))

  it.scoped("while the store refuses writes, the instance's events wait in its outbox (logged once) and go at the first sync that works", () =>
    Effect.gen(function* () {
      const { a, b, failing, logs } = yield* refusedOnA
      yield* a.events.publish(selected("during"))
      yield* TestClock.adjust(3 * SECOND)
      assert.deepStrictEqual(yield* b.ids, [])
      assert.deepStrictEqual(yield* a.ids, ["during"], "A's own subscribers are not affected")
      assert.strictEqual(logs.filter((l) => l.includes("could not share")).length, 1)
      yield* Ref.set(failing, false)
      yield* TestClock.adjust(2 * SECOND)
      assert.deepStrictEqual(yield* b.ids, ["during"])
      assert.strictEqual(logs.filter((l) => l.includes("shared again")).length, 1)
      assert.deepStrictEqual((yield* a.relay.outbox).items, [])
    }))

  it.scoped("the outbox keeps the newest events only: beyond its capacity the oldest are dropped, logged once", () =>
    Effect.gen(function* () {
      const { a, b, failing, logs } = yield* refusedOnA
      const over = 3
      for (let i = 0; i < Events_.outboxCapacity + over; i++) yield* a.events.publish(selected(`r${i}`))
      yield* TestClock.adjust(2 * SECOND)
      for (let i = 0; i < 2; i++) yield* a.events.publish(selected(`more${i}`))
      yield* TestClock.adjust(2 * SECOND)
      yield* Ref.set(failing, false)
      // A sync reads 5 pages of 1 000 rows at most: two syncs of B after A's write.
      yield* TestClock.adjust(4 * SECOND)
      const got = yield* b.ids
      assert.strictEqual(got.length, Events_.outboxCapacity)
      assert.deepStrictEqual([got[0], got.at(-1)], [`r${over + 2}`, "more1"])
      assert.strictEqual(logs.filter((l) => l.includes("outbox is full")).length, 1)
    }))

  it.scoped("rows past the retention are deleted, once a minute, whoever wrote them", () =>
    Effect.gen(function* () {
      const log = yield* makeMemoryLog
      yield* instance("b", log.store)
      yield* log.store.append("c", [{ at: 0, data: encode(selected("old")) }], 0)
      yield* TestClock.adjust(EventsSync.retentionMs - 30 * SECOND)
      yield* log.store.append("c", [{ at: 1, data: encode(selected("recent")) }], yield* Clock.currentTimeMillis)
      assert.deepStrictEqual(yield* rowsOf(log), ["c:old", "c:recent"])
      // Past the retention by a minute at most, the old row is gone; the recent one stays.
      yield* TestClock.adjust(30 * SECOND + EventsSync.pruneEveryMs)
      assert.deepStrictEqual(yield* rowsOf(log), ["c:recent"])
    }))

  it.scoped("without a sync interval (SQLite's default) nothing is kept for the others", () =>
    Effect.gen(function* () {
      const log = yield* makeMemoryLog
      const a = yield* instance("a", log.store, null)
      yield* a.events.publish(new WindowReset({ at: 1, model: "gpt-4o" }))
      yield* TestClock.adjust(5 * SECOND)
      assert.deepStrictEqual((yield* a.relay.outbox).items, [])
      assert.deepStrictEqual(yield* rowsOf(log), [])
      assert.deepStrictEqual(yield* a.ids, ["WindowReset"])
    }))
})
