/**
 * `EventLogStore`: the events of every gateway instance on one database,
 * held to one contract on the memory store (core), SQLite and PostgreSQL.
 * An instance appends its events and reads the others' after a cursor, its
 * own as ids only; ids it skipped are asked for again; old rows are pruned.
 * On PostgreSQL, a row that commits after a higher id was read is found by
 * asking for its id again.
 */
import { SqlClient } from "@effect/sql"
import { assert, describe, layer } from "@effect/vitest"
import * as EventLogStore from "@modelgate/core/EventLogStore"
import type { StoreError } from "@modelgate/domain/Errors"
import * as EventLogStoreSql from "@modelgate/sql/EventLogStoreSql"
import { Effect, Layer } from "effect"
import { databases, type DatabaseNeeds, postgres, servers } from "./databases.js"

/** Now, in epoch ms (2027). */
const T = 1_800_000_000_000

const store = EventLogStore.EventLogStore
const append = (instance: string, data: ReadonlyArray<string>, writtenAt = T) =>
  Effect.flatMap(store, (s) => s.append(instance, data.map((d, i) => ({ at: T - 1_000 + i, data: d })), writtenAt))
const read = (instance: string, after: number, missing: ReadonlyArray<number> = [], limit = 100) =>
  Effect.flatMap(store, (s) => s.read(instance, after, missing, limit))
const latest = Effect.flatMap(store, (s) => s.latest)
const prune = (before: number) => Effect.flatMap(store, (s) => s.prune(before))

/** A page as `instance:data` for the rows, with its ids relative to `base`. */
const shown = (page: EventLogStore.EventLogPage, base: number) => ({
  ids: page.ids.map((id) => id - base),
  rows: page.rows.map((r) => `${r.id - base} ${r.instance}:${r.data}`)
})

/** The stores held to the contract: each test gets an empty one. */
const stores: ReadonlyArray<{
  readonly name: string
  readonly layer: Layer.Layer<EventLogStore.EventLogStore, StoreError, DatabaseNeeds>
}> = [
  { name: "memory", layer: EventLogStore.layerMemory },
  ...databases.map((database) => ({ name: database.name, layer: EventLogStoreSql.layer.pipe(Layer.provide(database.layer)) }))
]

layer(servers, { timeout: 60_000 })("EventLogStore", (it) => {
  for (const s of stores) {
    describe(`on ${s.name}`, () => {
      it.scoped("listening marks: the others that said they listen since a time, each counted once; a mark taken back is gone", () =>
        Effect.gen(function* () {
          const listen = (instance: string, at: number | undefined) => Effect.flatMap(store, (st) => st.listen(instance, at))
          const listeners = (instance: string, since: number) => Effect.flatMap(store, (st) => st.listeners(instance, since))
          assert.strictEqual(yield* listeners("me", T - 10_000), 0)
          yield* listen("a", T - 20_000)
          yield* listen("a", T)
          yield* listen("b", T - 5_000)
          yield* listen("me", T)
          yield* listen("old", T - 60_000)
          assert.strictEqual(yield* listeners("me", T - 10_000), 2, "a (its later mark) and b; not me, not the stale one")
          assert.strictEqual(yield* listeners("a", T - 10_000), 2, "b and me")
          yield* listen("a", undefined)
          assert.strictEqual(yield* listeners("me", T - 10_000), 1)
          assert.strictEqual(yield* listeners("me", T - 1_000), 0, "b's mark is older than that")
        }).pipe(Effect.provide(s.layer)))

      it.scoped("an instance reads the others' events after its cursor, by id, its own as ids only; times as written", () =>
        Effect.gen(function* () {
          const base = yield* latest
          yield* append("a", ["a1", "a2"])
          yield* append("me", ["m1"])
          yield* append("b", ["b1"])
          assert.strictEqual(yield* latest, base + 4)
          assert.deepStrictEqual(shown(yield* read("me", base), base), {
            ids: [1, 2, 3, 4],
            rows: ["1 a:a1", "2 a:a2", "4 b:b1"]
          })
          const page = yield* read("me", base)
          assert.deepStrictEqual(page.rows.map((r) => r.at), [T - 1_000, T - 999, T - 1_000])
          assert.deepStrictEqual(shown(yield* read("a", base + 2), base), { ids: [3, 4], rows: ["3 me:m1", "4 b:b1"] })
          assert.deepStrictEqual(yield* read("me", base + 4), { ids: [], rows: [] })
          // At most `limit` ids, the lowest first.
          assert.deepStrictEqual(shown(yield* read("me", base, [], 2), base), { ids: [1, 2], rows: ["1 a:a1", "2 a:a2"] })
        }).pipe(Effect.provide(s.layer)))

      it.scoped("ids asked for again come back with the others' rows among them; an empty append writes nothing", () =>
        Effect.gen(function* () {
          const base = yield* latest
          yield* append("a", ["a1"])
          yield* append("me", ["m1"])
          yield* append("b", ["b1"])
          yield* append("b", [])
          assert.deepStrictEqual(shown(yield* read("me", base + 3, [base + 1, base + 2, base + 99]), base), { ids: [], rows: ["1 a:a1"] })
          assert.strictEqual(yield* latest, base + 3)
        }).pipe(Effect.provide(s.layer)))

      it.scoped("a batch of several hundred events is appended whole, in order", () =>
        Effect.gen(function* () {
          const base = yield* latest
          const data = Array.from({ length: 250 }, (_, i) => `e${i}`)
          yield* append("a", data)
          const page = yield* read("me", base, [], 1_000)
          assert.deepStrictEqual(page.rows.map((r) => r.data), data)
        }).pipe(Effect.provide(s.layer)))

      it.scoped("prune deletes the rows written before its bound, every instance's, and ids are not used again", () =>
        Effect.gen(function* () {
          const base = yield* latest
          yield* append("a", ["old-a"], T - 700_000)
          yield* append("b", ["old-b"], T - 600_001)
          yield* append("a", ["kept"], T - 600_000)
          yield* prune(T - 600_000)
          assert.deepStrictEqual(shown(yield* read("me", base), base), { ids: [3], rows: ["3 a:kept"] })
          yield* prune(T + 1)
          assert.deepStrictEqual(yield* read("me", base), { ids: [], rows: [] })
          yield* append("a", ["after"])
          assert.deepStrictEqual(shown(yield* read("me", base), base), { ids: [4], rows: ["4 a:after"] })
        }).pipe(Effect.provide(s.layer)))
    })
  }

  for (const database of databases) {
    describe(`on ${database.name} only`, () => {
      it.scoped("each failure names its operation and the reason", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* sql`DROP TABLE event_log`
          const errors = yield* Effect.all([append("a", ["x"]), latest, read("a", 0), read("a", 0, [1]), prune(T)].map(Effect.flip))
          assert.deepStrictEqual(errors.map((e) => e.operation), ["event_log.append", "event_log.latest", "event_log.read", "event_log.read", "event_log.prune"])
          for (const error of errors) assert.include(error.reason, "event_log")
        }).pipe(Effect.provide(EventLogStoreSql.layer.pipe(Layer.provideMerge(database.layer)))))
    })
  }

  describe("on PostgreSQL only", () => {
    // A transaction that took its id and commits after another instance's row, with the next id, was read
    // (PGlite runs one session: the id is taken from the sequence first, the row inserted with it later).
    it.scoped("a row that commits after a higher id was read is found when its id is asked for again", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const log = yield* store
        const base = yield* log.latest
        const [taken] = yield* sql<{ readonly id: number | string }>`SELECT nextval(pg_get_serial_sequence('event_log', 'id')) AS id`
        const lateId = Number(taken!.id)
        yield* log.append("b", [{ at: T, data: "b1" }], T)
        const page = yield* log.read("me", base, [], 100)
        assert.deepStrictEqual(page.ids, [lateId + 1])
        assert.deepStrictEqual(page.rows.map((r) => r.data), ["b1"])
        yield* sql`INSERT INTO event_log (id, instance, at, written_at, data) OVERRIDING SYSTEM VALUE VALUES (${lateId}, 'c', ${T}, ${T}, 'late')`
        const again = yield* log.read("me", lateId + 1, [lateId], 100)
        assert.deepStrictEqual(again.rows.map((r) => [r.id, r.instance, r.data]), [[lateId, "c", "late"]])
        assert.deepStrictEqual(again.ids, [])
      }).pipe(Effect.provide(EventLogStoreSql.layer.pipe(Layer.provideMerge(postgres.layer)))))
  })
})
