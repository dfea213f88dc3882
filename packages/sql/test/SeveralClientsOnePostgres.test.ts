/**
 * Several gateway processes' clients on one test PostgreSQL server, each
 * sending queries with parameters (the extended protocol: Parse, Bind,
 * Execute, Sync) at the same time, outside any transaction: every query gets
 * its own answer. On PGlite the socket server runs one session; a query's
 * messages must not be interleaved with another client's there (another
 * Parse replaces the unnamed statement: "unnamed prepared statement does not
 * exist"), as two gateways syncing their rate limits every second would.
 */
import { SqlClient } from "@effect/sql"
import { assert, layer } from "@effect/vitest"
import { LimiterUsageStore } from "@modelgate/core/LimiterUsageStore"
import * as LimiterUsageStoreSql from "@modelgate/sql/LimiterUsageStoreSql"
import * as Postgres from "@modelgate/sql/Postgres"
import * as TestPostgres from "@modelgate/testkit/TestPostgres"
import { Effect, Layer } from "effect"
import { servers } from "./databases.js"

layer(servers, { timeout: 60_000 })("several clients on one test PostgreSQL server", (it) => {
  it.scoped("queries with parameters sent by two clients at once each get their own answer", () =>
    Effect.gen(function* () {
      const database = yield* TestPostgres.fresh
      const client = Postgres.layer({ url: database.url, maxConnections: database.maxConnections })
      const one = yield* Layer.build(client)
      const two = yield* Layer.build(client)
      const ask = (n: number) =>
        Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ n: string; label: string }>`SELECT ${n}::int AS n, ${`q${n}`}::text AS label`).pipe(
          Effect.provide(n % 2 === 0 ? one : two),
          Effect.map((rows) => [Number(rows[0]?.n), rows[0]?.label] as const)
        )
      const answers = yield* Effect.all(Array.from({ length: 200 }, (_, n) => ask(n)), { concurrency: "unbounded" })
      assert.deepStrictEqual(answers, Array.from({ length: 200 }, (_, n) => [n, `q${n}`] as const))
    }))

  it.scoped("large queries of one client (their messages come in several packets) and small ones of the other: each answered", () =>
    Effect.gen(function* () {
      const database = yield* TestPostgres.fresh
      const client = Postgres.layer({ url: database.url, maxConnections: database.maxConnections })
      const one = yield* Layer.build(client)
      const two = yield* Layer.build(client)
      const text = "x".repeat(300_000)
      const large = (n: number) =>
        Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ n: string; l: string }>`SELECT ${n}::int AS n, length(${text}::text) AS l`).pipe(
          Effect.provide(one),
          Effect.map((rows) => [Number(rows[0]?.n), Number(rows[0]?.l)])
        )
      const small = (n: number) =>
        Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ n: string }>`SELECT ${n}::int AS n`).pipe(
          Effect.provide(two),
          Effect.map((rows) => Number(rows[0]?.n))
        )
      const [larges, smalls] = yield* Effect.all([
        Effect.all(Array.from({ length: 20 }, (_, n) => large(n)), { concurrency: "unbounded" }),
        Effect.all(Array.from({ length: 300 }, (_, n) => small(n)), { concurrency: "unbounded" })
      ], { concurrency: 2 })
      assert.deepStrictEqual(larges, Array.from({ length: 20 }, (_, n) => [n, 300_000]))
      assert.deepStrictEqual(smalls, Array.from({ length: 300 }, (_, n) => n))
    }))

  it.scoped("queries of one client while the other writes in transactions: every one answered, every write committed", () =>
    Effect.gen(function* () {
      const database = yield* TestPostgres.fresh
      const client = Postgres.layer({ url: database.url, maxConnections: database.maxConnections })
      const one = yield* Layer.build(client)
      const two = yield* Layer.build(client)
      yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql`CREATE TABLE written (n INT)`).pipe(Effect.provide(one))
      const write = (n: number) =>
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          sql.withTransaction(Effect.zipRight(sql`INSERT INTO written (n) VALUES (${n})`, sql`INSERT INTO written (n) VALUES (${n + 1000})`))).pipe(
            Effect.provide(one)
          )
      const read = (n: number) =>
        Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ n: string }>`SELECT ${n}::int AS n`).pipe(
          Effect.provide(two),
          Effect.map((rows) => Number(rows[0]?.n))
        )
      const [, answers] = yield* Effect.all([
        Effect.all(Array.from({ length: 50 }, (_, n) => write(n)), { concurrency: "unbounded" }),
        Effect.all(Array.from({ length: 200 }, (_, n) => read(n)), { concurrency: "unbounded" })
      ], { concurrency: 2 })
      assert.deepStrictEqual(answers, Array.from({ length: 200 }, (_, n) => n))
      const count = yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ c: string }>`SELECT COUNT(*) AS c FROM written`).pipe(Effect.provide(two))
      assert.strictEqual(Number(count[0]?.c), 100)
    }))

  it.scoped("two gateways' limiter syncs at once: every statement answered", () =>
    Effect.gen(function* () {
      const database = yield* TestPostgres.fresh
      const client = LimiterUsageStoreSql.layer.pipe(Layer.provideMerge(Postgres.layer({ url: database.url, maxConnections: database.maxConnections })))
      const one = yield* Layer.build(client)
      const two = yield* Layer.build(client)
      const sync = (instance: string, i: number) =>
        Effect.flatMap(LimiterUsageStore, (store) =>
          Effect.all([
            store.beat(instance, 1_000 + i),
            store.put(instance, 1_000, [{ key: "m", epoch: i, requests: 1, tokens: 1 }]),
            store.putBlocks(instance, [{ key: "m@k", until: 5_000 + i }]),
            store.othersSince(instance, 1_000, 0),
            store.othersBlocks(instance, 0),
            store.othersRunning(instance, 0)
          ])).pipe(Effect.provide(instance === "one" ? one : two))
      yield* Effect.all(Array.from({ length: 60 }, (_, i) => sync(i % 2 === 0 ? "one" : "two", i)), { concurrency: "unbounded" })
    }))
})
