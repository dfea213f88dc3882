/**
 * A PostgreSQL database that stops answering (every byte dropped, nothing
 * closed): a query fails after `Postgres.layer`'s query timeout instead of
 * waiting forever, and a `query_timeout` in the URL wins over it.
 */
import { SqlClient } from "@effect/sql"
import { assert, layer } from "@effect/vitest"
import * as Postgres from "@modelgate/sql/Postgres"
import * as Partition from "@modelgate/testkit/Partition"
import * as TestPostgres from "@modelgate/testkit/TestPostgres"
import { Effect, Exit, Layer, Redacted } from "effect"
import { servers } from "./databases.js"

layer(servers, { timeout: 60_000, excludeTestServices: true })("Postgres.layer's query timeout", (it) => {
  it.scoped("a query to a silent database fails after the timeout; the URL's query_timeout wins", () =>
    Effect.gen(function* () {
      const { url } = yield* TestPostgres.fresh
      const target = new URL(Redacted.value(url))
      const proxy = yield* Partition.proxy(Number(target.port))
      target.port = String(proxy.port)
      const query = Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT COUNT(*) AS n FROM cost_records`)
      const run = (options: Postgres.PostgresOptions) =>
        Effect.scoped(
          Effect.gen(function* () {
            const context = yield* Layer.build(Postgres.layer(options))
            proxy.cut()
            // Without the timeout the query would wait for ever (the test's own timeout would end it, failed).
            const result = yield* Effect.exit(Effect.provide(query, context))
            proxy.heal()
            return result
          })
        )

      const byOption = yield* run({ url: Redacted.make(target.toString()), maxConnections: 1, queryTimeout: "300 millis" })
      assert.isTrue(Exit.isFailure(byOption))

      target.searchParams.set("query_timeout", "200")
      const byUrl = yield* run({ url: Redacted.make(target.toString()), maxConnections: 1, queryTimeout: "1 hour" })
      assert.isTrue(Exit.isFailure(byUrl))
    }))
})
