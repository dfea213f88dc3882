/**
 * The PostgreSQL database stops answering without closing anything (a
 * network partition: every byte dropped, no reset): a record write fails
 * after the query timeout instead of waiting forever, the records wait in
 * memory and the store reads as degraded, requests are still answered, and
 * once the network is back every answer has exactly one cost row.
 */
import { SqlClient } from "@effect/sql"
import { assert, layer } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { RecordWriter } from "@modelgate/core/RecordWriter"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import * as GatewayLive from "@modelgate/node/GatewayLive"
import * as FakeStackConfig from "@modelgate/testkit/FakeStackConfig"
import * as Partition from "@modelgate/testkit/Partition"
import * as TestPostgres from "@modelgate/testkit/TestPostgres"
import { Effect, Layer, Redacted } from "effect"
import { ask, models, poll } from "./fixture.js"

layer(TestPostgres.layer, { timeout: 60_000, excludeTestServices: true })("the PostgreSQL database goes silent", (it) => {
  it.scoped("a write fails after the query timeout, requests go on, and every record is written once after", () =>
    Effect.gen(function* () {
      const { maxConnections, url } = yield* TestPostgres.fresh
      const target = new URL(Redacted.value(url))
      const proxy = yield* Partition.proxy(Number(target.port))
      target.port = String(proxy.port)
      target.searchParams.set("query_timeout", "300")
      const fakes = yield* FakeStackConfig.make({ prefix: "modelgate-pg-silent-", models: models() })
      const context = yield* Layer.build(
        GatewayLive.layerWith({
          configDirectory: fakes.dir,
          watch: false,
          database: { _tag: "Postgres", url: Redacted.make(target.toString()), maxConnections }
        }).pipe(Layer.provide(Layer.setConfigProvider(fakes.configProvider)))
      )
      const ids: Array<string> = []
      const answer = Effect.flatMap(Gateway, (g) => g.complete(ask(`question ${ids.length}`), defaultRequirements)).pipe(
        Effect.map((a) => void ids.push(a.response.id)),
        Effect.provide(context)
      )
      const stats = Effect.flatMap(RecordWriter, (w) => w.stats).pipe(Effect.provide(context))

      yield* answer
      yield* Effect.flatMap(RecordWriter, (w) => w.flush).pipe(Effect.provide(context))
      proxy.cut()
      for (let i = 0; i < 3; i++) yield* answer
      yield* poll(stats, (s) => s.degraded, 10_000, "the record writer to give up on a write that gets no answer")

      proxy.heal()
      yield* poll(stats, (s) => !s.degraded && s.pending === 0, 20_000, "the records to be written once the network is back")
      const rows = yield* Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql<{ readonly request_id: string }>`SELECT request_id FROM cost_records`
      ).pipe(Effect.provide(context))
      assert.strictEqual(ids.length, 4)
      assert.deepStrictEqual(rows.map((r) => r.request_id).sort(), ids.map((id) => id.replace(/^chatcmpl-/, "")).sort())
    }))
})
