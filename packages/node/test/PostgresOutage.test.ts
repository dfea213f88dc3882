/**
 * The PostgreSQL database goes away while the gateway serves, then comes
 * back: requests keep being answered (nothing on the request path waits for
 * the database), their records wait in memory while the writes fail
 * (`records.degraded`), and once the database answers again every answer has
 * exactly one cost row: none lost, none written twice.
 */
import { SqlClient } from "@effect/sql"
import { assert, layer } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { RecordWriter } from "@modelgate/core/RecordWriter"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import * as GatewayLive from "@modelgate/node/GatewayLive"
import * as FakeStackConfig from "@modelgate/testkit/FakeStackConfig"
import * as TestPostgres from "@modelgate/testkit/TestPostgres"
import { Effect, Layer } from "effect"
import { ask, models, poll } from "./fixture.js"

layer(TestPostgres.layer, { timeout: 60_000, excludeTestServices: true })("the PostgreSQL database goes away and comes back", (it) => {
  it.scoped("answers go on; their records are written once the database is back, each exactly once", () =>
    Effect.gen(function* () {
      const server = yield* TestPostgres.TestPostgres
      const { maxConnections, url } = yield* TestPostgres.fresh
      const fakes = yield* FakeStackConfig.make({ prefix: "modelgate-pg-outage-", models: models() })
      const context = yield* Layer.build(
        GatewayLive.layerWith({ configDirectory: fakes.dir, watch: false, database: { _tag: "Postgres", url, maxConnections } }).pipe(
          Layer.provide(Layer.setConfigProvider(fakes.configProvider))
        )
      )
      const gateway = Effect.flatMap(Gateway, (g) => g.complete(ask(`question ${Math.random()}`), defaultRequirements))
      const writer = Effect.flatMap(RecordWriter, (w) => w.stats)
      const ids: Array<string> = []
      const answer = Effect.map(gateway, (a) => void ids.push(a.response.id)).pipe(Effect.provide(context))

      yield* answer
      yield* Effect.flatMap(RecordWriter, (w) => w.flush).pipe(Effect.provide(context))

      const restart = yield* server.outage
      for (let i = 0; i < 3; i++) yield* answer
      yield* poll(writer.pipe(Effect.provide(context)), (s) => s.degraded, 10_000, "the record writer to notice the outage")

      yield* restart
      yield* poll(writer.pipe(Effect.provide(context)), (s) => !s.degraded, 20_000, "the record writer to recover")
      yield* Effect.flatMap(RecordWriter, (w) => w.flush).pipe(Effect.provide(context))

      const rows = yield* Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql<{ readonly request_id: string }>`SELECT request_id FROM cost_records`
      ).pipe(Effect.provide(context))
      assert.strictEqual(ids.length, 4)
      assert.strictEqual(rows.length, 4)
      assert.strictEqual(new Set(rows.map((r) => r.request_id)).size, 4)
    }))
})
