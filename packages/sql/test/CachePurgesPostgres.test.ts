/**
 * Cache purges logged by two gateway instances on one PostgreSQL database at
 * the same time: another instance that reads the purge log (`purgesAfter`,
 * from the id it read last) gets every one of them, whichever commits first.
 * Ids come from an identity column, taken when a row is inserted: a purge
 * whose COMMIT is slow must not let a later one, with a higher id, be read
 * first (the reader's cursor would pass it, and its entries would stay in that
 * instance's memory). On PGlite (one session) transactions take turns anyway.
 */
import { SqlClient } from "@effect/sql"
import { assert, layer } from "@effect/vitest"
import { CacheStore } from "@modelgate/core/CacheStore"
import * as CacheStoreSql from "@modelgate/sql/CacheStoreSql"
import { Context, Deferred, Effect, Fiber, Layer, Option } from "effect"
import { postgres, servers } from "./databases.js"

layer(servers, { timeout: 60_000, excludeTestServices: true })("cache purges of two instances on one PostgreSQL database", (it) => {
  it.scoped("a purge that commits after a later one was logged is still read by the other instances", () =>
    Effect.gen(function* () {
      const open = yield* postgres.create
      /** One instance's connection and cache store on the shared database. */
      const instance = Effect.map(Layer.build(CacheStoreSql.layer.pipe(Layer.provideMerge(open))), (context) => ({
        sql: Context.get(context, SqlClient.SqlClient),
        store: Context.get(context, CacheStore)
      }))
      const a = yield* instance
      const b = yield* instance
      const logged = yield* Deferred.make<void>()
      const commit = yield* Deferred.make<void>()
      // A's purge is logged, then its COMMIT is slow to come (here: held until `commit`).
      const slow = yield* a.sql.withTransaction(
        a.store.purge!({ model: "gpt-4o" }, 1).pipe(Effect.zipLeft(Deferred.succeed(logged, undefined)), Effect.zipLeft(Deferred.await(commit)))
      ).pipe(Effect.fork)
      yield* Deferred.await(logged)
      const quick = yield* Effect.fork(b.store.purge!({ model: "claude-opus-4-5" }, 2))
      yield* Effect.timeout(Fiber.await(quick), "1 second").pipe(Effect.option)
      // B syncs its cache meanwhile (on PGlite it waits for A's transaction: given up after a second).
      const early = yield* Effect.timeout(b.store.purgesAfter!(0), "1 second").pipe(Effect.option, Effect.map(Option.getOrElse(() => [])))
      yield* Deferred.succeed(commit, undefined)
      yield* Fiber.join(slow)
      yield* Fiber.join(quick)
      const cursor = Math.max(0, ...early.map((p) => p.id))
      const later = yield* b.store.purgesAfter!(cursor)
      assert.deepStrictEqual([...early, ...later].map((p) => p.model).sort(), ["claude-opus-4-5", "gpt-4o"], "both purges read, once")
    }))
})
