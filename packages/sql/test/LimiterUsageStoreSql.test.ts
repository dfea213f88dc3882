/**
 * `LimiterUsageStore`: the rate limiter's window counts that gateway
 * instances share, held to one contract on the memory store (core), SQLite
 * and PostgreSQL. Each instance writes the buckets it changed and reads the
 * others' sums back; a bucket that ended is pruned for every instance.
 */
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { assert, describe, it, layer } from "@effect/vitest"
import * as LimiterUsageStore from "@modelgate/core/LimiterUsageStore"
import type { StoreError } from "@modelgate/domain/Errors"
import * as LimiterUsageStoreSql from "@modelgate/sql/LimiterUsageStoreSql"
import * as Sqlite from "@modelgate/sql/Sqlite"
import { Effect, Layer } from "effect"
import { databases, type DatabaseNeeds, servers } from "./databases.js"
import { queryPlan, statementsOf } from "./queryPlans.js"

type Usage = LimiterUsageStore.LimiterUsage

/** Rows by key, then epoch: the store answers them in no particular order. */
const sorted = (rows: ReadonlyArray<Usage>): ReadonlyArray<Usage> =>
  [...rows].sort((a, b) => (a.key === b.key ? a.epoch - b.epoch : a.key < b.key ? -1 : 1))

const othersSince = (instance: string, bucketMs: number, fromEpoch: number) =>
  Effect.flatMap(LimiterUsageStore.LimiterUsageStore, (store) => store.othersSince(instance, bucketMs, fromEpoch)).pipe(Effect.map(sorted))

const put = (instance: string, bucketMs: number, usage: ReadonlyArray<Usage>) =>
  Effect.flatMap(LimiterUsageStore.LimiterUsageStore, (store) => store.put(instance, bucketMs, usage))

const putBlocks = (instance: string, blocks: ReadonlyArray<LimiterUsageStore.LimiterBlock>) =>
  Effect.flatMap(LimiterUsageStore.LimiterUsageStore, (store) => store.putBlocks(instance, blocks))

/** The others' running blocks, by key. */
const othersBlocks = (instance: string, now: number) =>
  Effect.flatMap(LimiterUsageStore.LimiterUsageStore, (store) => store.othersBlocks(instance, now)).pipe(
    Effect.map((blocks) => [...blocks].sort((a, b) => (a.key < b.key ? -1 : 1)))
  )

const prune = (before: number) => Effect.flatMap(LimiterUsageStore.LimiterUsageStore, (store) => store.prune(before))

const E = 1_800_000_000

/** The stores held to the contract: each test gets an empty one. */
const stores: ReadonlyArray<{
  readonly name: string
  readonly layer: Layer.Layer<LimiterUsageStore.LimiterUsageStore, StoreError, DatabaseNeeds>
}> = [
  { name: "memory", layer: LimiterUsageStore.layerMemory },
  ...databases.map((database) => ({ name: database.name, layer: LimiterUsageStoreSql.layer.pipe(Layer.provide(database.layer)) }))
]

layer(servers, { timeout: 60_000 })("LimiterUsageStore", (it) => {
  for (const store of stores) {
    describe(`on ${store.name}`, () => {
      it.scoped("an instance reads every other instance's buckets of its length from an epoch on, summed per key and bucket", () =>
        Effect.gen(function* () {
          yield* put("a", 1000, [{ key: "gpt-4o", epoch: E, requests: 1, tokens: 100 }, { key: "gpt-4o", epoch: E + 1, requests: 2, tokens: 200 }])
          yield* put("b", 1000, [{ key: "gpt-4o", epoch: E, requests: 10, tokens: 1000 }, { key: "gpt-4o|key-1", epoch: E, requests: 3, tokens: 30 }])
          yield* put("c", 1000, [{ key: "gpt-4o", epoch: E + 1, requests: 100, tokens: 10_000 }])
          // Left out: the reader's own rows, an older bucket, and buckets of another length.
          yield* put("me", 1000, [{ key: "gpt-4o", epoch: E, requests: 1000, tokens: 1 }])
          yield* put("b", 1000, [{ key: "gpt-4o", epoch: E - 1, requests: 7, tokens: 7 }])
          yield* put("b", 60_000, [{ key: "gpt-4o", epoch: E, requests: 9, tokens: 9 }])

          assert.deepStrictEqual(yield* othersSince("me", 1000, E), [
            { key: "gpt-4o", epoch: E, requests: 11, tokens: 1100 },
            { key: "gpt-4o", epoch: E + 1, requests: 102, tokens: 10_200 },
            { key: "gpt-4o|key-1", epoch: E, requests: 3, tokens: 30 }
          ])
          // Another reader sees "me" and not itself.
          assert.deepStrictEqual(yield* othersSince("b", 1000, E + 1), [
            { key: "gpt-4o", epoch: E + 1, requests: 102, tokens: 10_200 }
          ])
          assert.deepStrictEqual(yield* othersSince("a", 60_000, 0), [{ key: "gpt-4o", epoch: E, requests: 9, tokens: 9 }])
          assert.deepStrictEqual(yield* othersSince("b", 60_000, 0), [])
        }).pipe(Effect.provide(store.layer)))

      it.scoped("a second put of a bucket replaces the instance's counts, and an empty put writes nothing", () =>
        Effect.gen(function* () {
          yield* put("a", 1000, [{ key: "m", epoch: E, requests: 1, tokens: 10 }])
          yield* put("a", 1000, [{ key: "m", epoch: E, requests: 3, tokens: 30 }])
          yield* put("a", 1000, [])
          assert.deepStrictEqual(yield* othersSince("b", 1000, E), [{ key: "m", epoch: E, requests: 3, tokens: 30 }])
          // One put naming a bucket twice keeps the last.
          yield* put("a", 1000, [{ key: "m", epoch: E, requests: 4, tokens: 40 }, { key: "m", epoch: E, requests: 5, tokens: 50 }])
          assert.deepStrictEqual(yield* othersSince("b", 1000, E), [{ key: "m", epoch: E, requests: 5, tokens: 50 }])
        }).pipe(Effect.provide(store.layer)))

      it.scoped("one put stores 250 buckets", () =>
        Effect.gen(function* () {
          // 25 keys of 10 buckets each.
          const usage = Array.from({ length: 250 }, (_, i): Usage => ({
            key: `model-${String(i % 25).padStart(2, "0")}`,
            epoch: E + Math.floor(i / 25),
            requests: i + 1,
            tokens: 1000 * (i + 1)
          }))
          yield* put("a", 1000, usage)
          assert.deepStrictEqual(yield* othersSince("b", 1000, E), sorted(usage))
        }).pipe(Effect.provide(store.layer)))

      it.scoped("counts past 32 bits come back exactly, as numbers", () =>
        Effect.gen(function* () {
          yield* put("a", 1000, [{ key: "m", epoch: E, requests: 3_000_000_000, tokens: 5_000_000_000 }])
          yield* put("b", 1000, [{ key: "m", epoch: E, requests: 1, tokens: 5_000_000_001 }])
          const [row] = yield* othersSince("c", 1000, E)
          assert.deepStrictEqual(row, { key: "m", epoch: E, requests: 3_000_000_001, tokens: 10_000_000_001 })
          assert.strictEqual(typeof row?.epoch, "number")
          assert.strictEqual(typeof row?.tokens, "number")
        }).pipe(Effect.provide(store.layer)))

      it.scoped("prune deletes every instance's buckets that ended before an instant, of any length, and answers how many", () =>
        Effect.gen(function* () {
          // 1 s buckets ending at (E + 1) s, (E + 2) s, (E + 3) s; one 60 s bucket ending at (E / 60 + 1) min.
          const at = (epoch: number, requests: number): Usage => ({ key: "m", epoch, requests, tokens: requests })
          yield* put("a", 1000, [at(E, 1), at(E + 1, 2), at(E + 2, 3)])
          yield* put("b", 1000, [at(E, 10), at(E + 1, 20)])
          yield* put("a", 60_000, [at(E / 60, 100)])

          assert.strictEqual(yield* prune((E + 2) * 1000), 2)
          assert.deepStrictEqual(yield* othersSince("z", 1000, 0), [at(E + 1, 22), at(E + 2, 3)])
          assert.strictEqual(yield* prune((E + 2) * 1000), 0)
          assert.strictEqual(yield* prune((E + 3) * 1000 + 1), 3)
          assert.deepStrictEqual(yield* othersSince("z", 1000, 0), [])
          assert.deepStrictEqual(yield* othersSince("z", 60_000, 0), [at(E / 60, 100)])
          assert.strictEqual(yield* prune((E / 60 + 1) * 60_000 + 1), 1)
          assert.deepStrictEqual(yield* othersSince("z", 60_000, 0), [])
        }).pipe(Effect.provide(store.layer)))

      it.scoped("provider blocks: an instance reads the others' blocks still running, the latest per key; a put replaces; prune ends them", () =>
        Effect.gen(function* () {
          const T = E * 1000
          yield* putBlocks("a", [{ key: "m@openai#0", until: T + 20_000 }, { key: "m", until: T + 5_000 }])
          yield* putBlocks("b", [{ key: "m@openai#0", until: T + 30_000 }, { key: "old", until: T - 1 }])
          yield* putBlocks("me", [{ key: "mine", until: T + 60_000 }])
          assert.deepStrictEqual(yield* othersBlocks("me", T), [
            { key: "m", until: T + 5_000 },
            { key: "m@openai#0", until: T + 30_000 }
          ])
          // A block that ends at `now` no longer runs.
          assert.deepStrictEqual(yield* othersBlocks("me", T + 5_000), [{ key: "m@openai#0", until: T + 30_000 }])
          // The instance's next put of a key replaces its block (a shorter one too).
          yield* putBlocks("b", [{ key: "m@openai#0", until: T + 10_000 }])
          assert.deepStrictEqual(yield* othersBlocks("a", T), [{ key: "m@openai#0", until: T + 10_000 }, { key: "mine", until: T + 60_000 }])
          yield* putBlocks("b", [])
          assert.strictEqual(yield* prune(T + 10_000), 2)
          // Ended before T + 10 s: b's "old" and a's "m"; b's block that ends at T + 10 s is kept.
          assert.deepStrictEqual(yield* othersBlocks("z", 0), [{ key: "m@openai#0", until: T + 20_000 }, { key: "mine", until: T + 60_000 }])
          assert.deepStrictEqual(yield* othersBlocks("a", T), [{ key: "m@openai#0", until: T + 10_000 }, { key: "mine", until: T + 60_000 }])
        }).pipe(Effect.provide(store.layer)))

      it.scoped("running instances: each mark replaces the instance's last; the others marked after an instant are counted; leave and prune forget marks", () =>
        Effect.gen(function* () {
          const T = E * 1000
          const store = yield* LimiterUsageStore.LimiterUsageStore
          yield* store.beat("a", T)
          yield* store.beat("b", T - 20_000)
          yield* store.beat("me", T)
          assert.strictEqual(yield* store.othersRunning("me", T - 10_000), 1)
          assert.strictEqual(yield* store.othersRunning("me", T - 30_000), 2)
          assert.strictEqual(yield* store.othersRunning("a", T - 10_000), 1)
          // B marks again: it runs.
          yield* store.beat("b", T + 1_000)
          assert.strictEqual(yield* store.othersRunning("me", T - 10_000), 2)
          // A mark at the instant itself is not after it.
          assert.strictEqual(yield* store.othersRunning("me", T), 1)
          // An instance that stops forgets its mark (another's leave changes nothing of "me").
          yield* store.leave("b")
          yield* store.leave("never-ran")
          assert.strictEqual(yield* store.othersRunning("me", T - 10_000), 1)
          assert.strictEqual(yield* prune(T + 1), 2)
          assert.strictEqual(yield* store.othersRunning("z", 0), 0)
        }).pipe(Effect.provide(store.layer)))
    })
  }

  for (const database of databases) {
    describe(`on ${database.name} only`, () => {
      it.scoped("two gateways on one database read each other's counts", () =>
        Effect.gen(function* () {
          const open = LimiterUsageStoreSql.layer.pipe(Layer.provide(yield* database.create))
          const one = yield* Layer.build(open)
          const two = yield* Layer.build(open)
          yield* Effect.provide(put("one", 1000, [{ key: "m", epoch: E, requests: 1, tokens: 10 }]), one)
          yield* Effect.provide(put("two", 1000, [{ key: "m", epoch: E, requests: 2, tokens: 20 }]), two)
          assert.deepStrictEqual(yield* Effect.provide(othersSince("one", 1000, E), one), [{ key: "m", epoch: E, requests: 2, tokens: 20 }])
          assert.deepStrictEqual(yield* Effect.provide(othersSince("two", 1000, E), two), [{ key: "m", epoch: E, requests: 1, tokens: 10 }])
        }))

      it.scoped("a put the database refuses stores none of its buckets, and each failure names its operation and the reason", () =>
        Effect.gen(function* () {
          const usage = Array.from({ length: 250 }, (_, i): Usage => ({ key: `k${i}`, epoch: E, requests: 1, tokens: 1 }))
          // The last chunk's last row has no token count: NOT NULL refuses it.
          const refused = yield* Effect.flip(put("a", 1000, [...usage.slice(0, 249), { ...usage[249]!, tokens: null as unknown as number }]))
          assert.strictEqual(refused.operation, "limiter_usage.put")
          assert.deepStrictEqual(yield* othersSince("b", 1000, E), [])

          const sql = yield* SqlClient.SqlClient
          yield* sql`DROP TABLE limiter_usage`
          const errors = yield* Effect.all([put("a", 1000, usage.slice(0, 1)), othersSince("b", 1000, E), prune(E)].map(Effect.flip))
          assert.deepStrictEqual(errors.map((e) => e.operation), ["limiter_usage.put", "limiter_usage.othersSince", "limiter_usage.prune"])
          for (const error of errors) assert.include(error.reason, "limiter_usage")
        }).pipe(Effect.provide(LimiterUsageStoreSql.layer.pipe(Layer.provideMerge(database.layer)))))
    })
  }
})

describe("limiter_usage indexes", () => {
  it.scoped("othersSince, othersBlocks and prune find their rows through an index on SQLite, never a scan", () =>
    Effect.gen(function* () {
      const statements = yield* statementsOf(Effect.all([othersSince("me", 1000, E), prune(E), othersBlocks("me", E)]))
      const indexes: Array<string> = []
      for (const [text, params] of statements) {
        // `limiter_instances` holds one row per instance: read whole.
        if (text.includes("limiter_instances")) continue
        const details = (yield* queryPlan(text, params)).join(" | ")
        assert.notMatch(details, /\bSCAN limiter_(usage|blocks)\b/, `a scan: ${details}`)
        indexes.push(/USING (?:COVERING )?INDEX (\w+ \([^)]*\))/.exec(details)?.[1] ?? details)
      }
      assert.deepStrictEqual(indexes, [
        "limiter_usage_bucket (bucket_ms=? AND epoch>?)",
        "limiter_usage_ends_at (ends_at<?)",
        "limiter_blocks_until (until<?)",
        "limiter_blocks_until (until>?)"
      ])
    }).pipe(Effect.provide(LimiterUsageStoreSql.layer.pipe(Layer.provideMerge(Sqlite.layer(":memory:")), Layer.provide(NodeContext.layer)))))
})
