/**
 * `HealthMarkStore`: the models each gateway instance finds unavailable, as
 * the instances on one database share them, held to one contract on the
 * memory store (core), SQLite and PostgreSQL. Each instance replaces all of
 * its marks at every write and reads the others' that were written lately.
 */
import { SqlClient } from "@effect/sql"
import { assert, describe, layer } from "@effect/vitest"
import * as HealthMarkStore from "@modelgate/core/HealthMarkStore"
import type { StoreError } from "@modelgate/domain/Errors"
import * as HealthMarkStoreSql from "@modelgate/sql/HealthMarkStoreSql"
import { Effect, Layer } from "effect"
import { databases, type DatabaseNeeds, servers } from "./databases.js"

type Mark = HealthMarkStore.HealthMark
type InstanceMark = HealthMarkStore.InstanceHealthMark

/** Marks by instance, then model: the store answers them in no particular order. */
const sorted = (marks: ReadonlyArray<InstanceMark>): ReadonlyArray<InstanceMark> =>
  [...marks].sort((a, b) => (a.instance === b.instance ? (a.model < b.model ? -1 : 1) : a.instance < b.instance ? -1 : 1))

const put = (instance: string, marks: ReadonlyArray<Mark>, at: number) =>
  Effect.flatMap(HealthMarkStore.HealthMarkStore, (store) => store.put(instance, marks, at))

const others = (instance: string, since: number) =>
  Effect.flatMap(HealthMarkStore.HealthMarkStore, (store) => store.others(instance, since)).pipe(Effect.map(sorted))

const leave = (instance: string) => Effect.flatMap(HealthMarkStore.HealthMarkStore, (store) => store.leave(instance))

/** Now, in epoch ms (2027). */
const T = 1_800_000_000_000

/** A mark of `model`, found unavailable a minute ago, probed in 30 s unless `overrides` says otherwise. */
const mark = (model: string, overrides: Partial<Mark> = {}): Mark => ({
  model,
  since: T - 60_000,
  reason: "503 from openai",
  nextProbeAt: T + 30_000,
  ...overrides
})

/** `marks` as another instance reads them. */
const of = (instance: string, ...marks: ReadonlyArray<Mark>): ReadonlyArray<InstanceMark> => marks.map((m) => ({ ...m, instance }))

/** The stores held to the contract: each test gets an empty one. */
const stores: ReadonlyArray<{
  readonly name: string
  readonly layer: Layer.Layer<HealthMarkStore.HealthMarkStore, StoreError, DatabaseNeeds>
}> = [
  { name: "memory", layer: HealthMarkStore.layerMemory },
  ...databases.map((database) => ({ name: database.name, layer: HealthMarkStoreSql.layer.pipe(Layer.provide(database.layer)) }))
]

layer(servers, { timeout: 60_000 })("HealthMarkStore", (it) => {
  for (const store of stores) {
    describe(`on ${store.name}`, () => {
      it.scoped("an instance reads every other instance's marks, never its own, epoch ms and an unscheduled probe as written", () =>
        Effect.gen(function* () {
          yield* put("a", [mark("gpt-4o"), mark("claude", { nextProbeAt: T + 5_000, reason: "timed out after 30 s" })], T)
          yield* put("b", [mark("gpt-4o", { nextProbeAt: undefined })], T + 1_000)
          yield* put("me", [mark("mine")], T + 2_000)

          const read = yield* others("me", T - 1_000)
          assert.deepStrictEqual(read, [
            ...of("a", mark("claude", { nextProbeAt: T + 5_000, reason: "timed out after 30 s" }), mark("gpt-4o")),
            ...of("b", mark("gpt-4o", { nextProbeAt: undefined }))
          ])
          // Epoch ms come back as numbers, an unscheduled probe as undefined (not NULL).
          assert.deepStrictEqual(read.map((m) => [typeof m.since, typeof m.nextProbeAt]), [["number", "number"], ["number", "number"], ["number", "undefined"]])
          assert.deepStrictEqual(yield* others("a", T - 1_000), [...of("b", mark("gpt-4o", { nextProbeAt: undefined })), ...of("me", mark("mine"))])
        }).pipe(Effect.provide(store.layer)))

      it.scoped("a put replaces all of the instance's marks: a model it leaves out is gone, an empty put leaves none", () =>
        Effect.gen(function* () {
          yield* put("a", [mark("x"), mark("y")], T)
          yield* put("b", [mark("z")], T)
          yield* put("a", [mark("y", { nextProbeAt: T + 60_000, reason: "429 from openai" })], T + 1_000)
          assert.deepStrictEqual(yield* others("me", 0), [...of("a", mark("y", { nextProbeAt: T + 60_000, reason: "429 from openai" })), ...of("b", mark("z"))])
          yield* put("a", [], T + 2_000)
          assert.deepStrictEqual(yield* others("me", 0), of("b", mark("z")))
          yield* put("a", [mark("x")], T + 3_000)
          assert.deepStrictEqual(yield* others("b", 0), of("a", mark("x")))
        }).pipe(Effect.provide(store.layer)))

      it.scoped("`since` keeps the instances that wrote after it, all of their marks, by their last write", () =>
        Effect.gen(function* () {
          yield* put("a", [mark("x")], T)
          yield* put("b", [mark("y")], T + 5_000)
          // A write at the instant itself is not after it.
          assert.deepStrictEqual(yield* others("me", T), of("b", mark("y")))
          assert.deepStrictEqual(yield* others("me", T - 1), [...of("a", mark("x")), ...of("b", mark("y"))])
          // A writes again, its old mark with a new one: both are as recent as its write.
          yield* put("a", [mark("x"), mark("w")], T + 10_000)
          assert.deepStrictEqual(yield* others("me", T + 5_000), of("a", mark("w"), mark("x")))
          assert.deepStrictEqual(yield* others("me", T + 10_000), [])
        }).pipe(Effect.provide(store.layer)))

      it.scoped("an instance that leaves takes its marks with it, and no other instance's", () =>
        Effect.gen(function* () {
          yield* put("a", [mark("x")], T)
          yield* put("b", [mark("y")], T)
          yield* leave("a")
          yield* leave("never-ran")
          assert.deepStrictEqual(yield* others("me", 0), of("b", mark("y")))
          yield* leave("b")
          assert.deepStrictEqual(yield* others("me", 0), [])
        }).pipe(Effect.provide(store.layer)))
    })
  }

  for (const database of databases) {
    describe(`on ${database.name} only`, () => {
      it.scoped("a put the database refuses keeps the instance's previous marks, and each failure names its operation and the reason", () =>
        Effect.gen(function* () {
          yield* put("a", [mark("x")], T)
          // A mark without a reason: NOT NULL refuses it, after the instance's rows were deleted.
          const refused = yield* Effect.flip(put("a", [mark("y"), mark("z", { reason: null as unknown as string })], T + 1_000))
          assert.strictEqual(refused.operation, "health_marks.put")
          assert.deepStrictEqual(yield* others("b", 0), of("a", mark("x")))

          const sql = yield* SqlClient.SqlClient
          yield* sql`DROP TABLE health_marks`
          const errors = yield* Effect.all([put("a", [], T), others("b", 0), leave("a")].map(Effect.flip))
          assert.deepStrictEqual(errors.map((e) => e.operation), ["health_marks.put", "health_marks.others", "health_marks.leave"])
          for (const error of errors) assert.include(error.reason, "health_marks")
        }).pipe(Effect.provide(HealthMarkStoreSql.layer.pipe(Layer.provideMerge(database.layer)))))
    })
  }
})
